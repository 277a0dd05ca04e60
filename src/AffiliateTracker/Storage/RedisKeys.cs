namespace AffiliateTracker.Storage;

/// Every Redis key the tracker uses is built here. Layout (P = configured prefix, default "at:"):
///
///   P{c:ID}                 string, compact click record for attribution; TTL = min(window, hot period)
///   P{clicks:N}:stream      stream of click batches, shard N; consumer group "flushers"
///   Puq:OFFER:VISITOR       string, first click id of a visitor on an offer in the last 24 h
///   Pconfig                 pub/sub channel: network configuration changed, reload it
///
/// Braces are Redis Cluster hash tags: a click's keys share a slot, and each stream shard is one slot,
/// so a cluster spreads shards over nodes. No command touches keys of two slots.
public sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    public string Click(string clickId) => $"{Prefix}{{c:{clickId}}}";
    public string ClickStream(int shard) => $"{Prefix}{{clicks:{shard}}}:stream";
    public string Visitor(long offerId, string visitorHash) => $"{Prefix}uq:{offerId}:{visitorHash}";
    public string ConfigChannel => $"{Prefix}config";

    public const string FlusherGroup = "flushers";
}
