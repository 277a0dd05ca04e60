using StackExchange.Redis;

namespace AffiliateTracker.Storage;

/// Every Redis key the tracker uses is built here. Layout (P = configured prefix, default "at:"):
///
///   P{clicks:N}:stream      stream of click batches, shard N; consumer group "flushers"
///   P{clicks:N}:a:MINUTE    hash of compact click records for attribution (field = click id), one per
///                           shard and UTC minute (yyyyMMddHHmm); expires HotPeriod after the minute ends.
///                           Per minute, not per hour: Redis frees an expiring key in one go, and an hour
///                           of clicks in one hash blocked it for most of a second (benchmarks/README.md)
///   P{uq:OFFER:B}:VISITOR   string, first click id of a visitor on an offer in the last 24 h; B (0-63,
///                           from the visitor hash) spreads an offer's visitors over 64 slots, and the
///                           flusher decides a batch's uniqueness with one script per slot
///   P{cc:OFFER}:PUB|all:PERIOD   click counter for caps (PERIOD = dYYYYMMDD or mYYYYMM)
///   P{cv:N}:stream          stream of conversion events, shard N = offer id mod shards
///   P{cv:N}:d:OFFER:GOAL:KEY     "conversion id|status" of a conversion, its dedupe record
///   P{cv:N}:n:OFFER:PUB|all:PERIOD   conversion counter for caps
///   P{cv:N}:ip:OFFER:IP:DAY       conversions per click IP, for the ip_velocity flag
///   P{plog}:stream          stream of inbound postback / pixel log entries (a JSON array per entry)
///   Pconfig                 pub/sub channel: network configuration changed, reload it
///
/// Braces are Redis Cluster hash tags: a click shard's stream and attribution hashes share a slot (the
/// shard follows from the click id, so a lookup knows where to look), and each shard is one slot,
/// so a cluster spreads shards over nodes. A conversion's dedupe record, its offer's counters and its
/// stream share the shard's slot, so one Lua script can check, count and append atomically.
public sealed class RedisKeys(string prefix, int conversionShards = 1, int clickShards = 1)
{
    public string Prefix { get; } = prefix;
    public int ConversionShards { get; } = Math.Max(1, conversionShards);
    public int ClickShards { get; } = Math.Max(1, clickShards);

    /// A click's shard, from the random tail of its id: the recorder and every lookup agree without asking.
    public int ClickShard(string clickId) =>
        ClickShards == 1 || clickId.Length < 4 ? 0 : (int)((uint)(clickId[^1] * 31 * 31 + clickId[^2] * 31 + clickId[^3]) % (uint)ClickShards);
    public string ClickRecords(int shard, DateTimeOffset clickTime) => $"{Prefix}{{clicks:{shard}}}:a:{clickTime.UtcDateTime:yyyyMMddHHmm}";

    public int ConversionShard(long offerId) => (int)(offerId % ConversionShards);
    public string ConversionStream(int shard) => $"{Prefix}{{cv:{shard}}}:stream";
    public string ConversionDedupe(long offerId, string goal, string dedupeKey) =>
        $"{Prefix}{{cv:{ConversionShard(offerId)}}}:d:{offerId}:{goal}:{dedupeKey}";
    public string ConversionCounter(long offerId, long? publisherId, string period) =>
        $"{Prefix}{{cv:{ConversionShard(offerId)}}}:n:{offerId}:{publisherId?.ToString() ?? "all"}:{period}";
    public string ConversionIpCounter(long offerId, string ip, string day) =>
        $"{Prefix}{{cv:{ConversionShard(offerId)}}}:ip:{offerId}:{ip}:{day}";
    public string ClickCounter(long offerId, long? publisherId, string period) =>
        $"{Prefix}{{cc:{offerId}}}:{publisherId?.ToString() ?? "all"}:{period}";
    public string PostbackLogStream => $"{Prefix}{{plog}}:stream";

    public static string Day(DateTimeOffset t) => "d" + t.UtcDateTime.ToString("yyyyMMdd");
    public static string Month(DateTimeOffset t) => "m" + t.UtcDateTime.ToString("yyyyMM");

    public string ClickStream(int shard) => $"{Prefix}{{clicks:{shard}}}:stream";
    public string Visitor(long offerId, string visitorHash) => $"{Prefix}{{uq:{offerId}:{VisitorBucket(visitorHash)}}}:{visitorHash}";
    public static int VisitorBucket(string visitorHash) => (visitorHash[0] * 31 + visitorHash[1]) % VisitorBuckets;
    public const int VisitorBuckets = 64;
    public RedisChannel ConfigChannel => RedisChannel.Literal($"{Prefix}config");

    public const string FlusherGroup = "flushers";
    /// The service key of the flushers' own Redis connection (StorageServices.AddStorage).
    public const string FlusherConnection = "flushers";
}
