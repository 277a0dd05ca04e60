using System.Net;
using System.Security.Cryptography;
using System.Text;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AffiliateTracker.Clicks;

/// Moves clicks from the Redis streams to PostgreSQL. Each pass: take over entries a dead flusher left
/// unacknowledged, read new entries, decide uniqueness, write the batch idempotently, and only after
/// the commit acknowledge and delete the entries. A crash anywhere re-delivers the batch, and
/// re-delivery changes nothing. Any number of instances run this side by side (one consumer group).
public sealed class ClickFlusher(
    [FromKeyedServices(RedisKeys.FlusherConnection)] ConnectionMultiplexer redis, RedisKeys keys, ClickStore store, FlushConsumer consumer, IOptions<ClickOptions> options,
    VisitorCountry countries, TrafficClassifier traffic, ILogger<ClickFlusher> log, TimeProvider time) : BackgroundService
{
    private readonly ClickOptions _options = options.Value;

    // The country of a click the redirect did not need it for, and the traffic details, are worked out here, after the 302.
    private readonly ClickCodec.Details _details = (ip, userAgent, country, isBot) =>
        (country ?? (ip is not null && IPAddress.TryParse(ip, out var address) ? countries.Lookup(address) : null), traffic.Classify(userAgent, ip, isBot));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _options.FlusherEnabled
        ? consumer.RunLoopAsync(() => FlushOnceAsync(_options.ReclaimAfter), _options.FlushIdleDelay, log, "Click flush", stoppingToken,
            EntriesPerRead * keys.ClickShards, _options.FlushInterval)
        : Task.CompletedTask;

    // A stream entry is one group commit of up to MaxBatch clicks; FlushBatch counts clicks.
    private int EntriesPerRead => Math.Max(1, _options.FlushBatch / 64);

    /// One pass over every shard. Returns the number of stream entries handled.
    public async Task<int> FlushOnceAsync(TimeSpan reclaimAfter, CancellationToken ct = default)
    {
        var total = 0;
        for (var shard = 0; shard < keys.ClickShards; shard++)
            total += await consumer.ConsumeOnceAsync(keys.ClickStream(shard), EntriesPerRead, reclaimAfter,
                async entries =>
                {
                    var clicks = new List<ClickRecord>();
                    foreach (var e in entries)
                    {
                        try
                        {
                            clicks.AddRange(ClickCodec.DecodeBatch(e.Payload, _details));
                        }
                        catch (Exception ex) when (ex is FormatException or ArgumentException or IndexOutOfRangeException)
                        {
                            // Never block the stream on one bad entry; it is logged for a human and acknowledged.
                            log.LogError(ex, "Unreadable click batch {EntryId} skipped", e.Id);
                        }
                    }
                    await store.InsertAsync(clicks, await DecideUniqueAsync(redis.GetDatabase(), clicks), ct);
                    return entries.Select(e => e.Id).ToList();
                });
        return total;
    }

    // First click of a visitor on an offer within the window wins. Per visitor: SET NX stores the id of the
    // visitor's first click in the batch when the visitor has none; either way the stored id comes back, and the
    // one click of the batch holding it (if any) is unique, so a re-delivered click keeps the answer it got the
    // first time. One script call per key slot ({uq:OFFER:B}) for the whole batch, not one command per click.
    // KEYS: visitor keys; ARGV: click id, ttl ms, per key. Returns the stored click id per key.
    private const string UniqueScript = """
        local out = {}
        for i = 1, #KEYS do
          local id = ARGV[2 * i - 1]
          if redis.call('SET', KEYS[i], id, 'NX', 'PX', ARGV[2 * i]) then out[i] = id
          else out[i] = redis.call('GET', KEYS[i]) or '' end
        end
        return out
        """;

    private const int UniqueKeysPerCall = 128;

    private async Task<bool[]> DecideUniqueAsync(IDatabase db, List<ClickRecord> clicks)
    {
        var now = time.GetUtcNow();
        // A visitor's clicks in one batch need one decision: only the first can find no key, and the stored id
        // answers the rest. A flood from one visitor (a bot on a link) is one key, not thousands, in Redis.
        var visitors = new Dictionary<(long Offer, string Hash), List<int>>();
        for (var i = 0; i < clicks.Count; i++)
        {
            var key = (clicks[i].OfferId, VisitorHash(clicks[i]));
            if (!visitors.TryGetValue(key, out var of)) visitors.Add(key, of = new List<int>(1));
            of.Add(i);
        }
        var calls = new List<(List<int>[] Visitors, Task<RedisResult> Result)>();
        // One call per key slot (the offer and the bucket the visitor hash falls in, {uq:OFFER:B}: RedisKeys.Visitor) and
        // at most UniqueKeysPerCall visitors, all sent at once: flushers running side by side decide in the order they
        // reach Redis, so no call waits for another, and many visitors in one slot do not hold Redis for milliseconds
        // in one script while the redirect's group commits wait behind it.
        foreach (var chunk in visitors.GroupBy(v => (v.Key.Offer, RedisKeys.VisitorBucket(v.Key.Hash))).SelectMany(slot => slot.Chunk(UniqueKeysPerCall)))
        {
            var args = new RedisValue[chunk.Length * 2];
            for (var j = 0; j < chunk.Length; j++)
            {
                var first = clicks[chunk[j].Value[0]];
                var ttl = _options.UniqueWindow - (now - first.CreatedAt);
                args[2 * j] = first.ClickId;
                args[2 * j + 1] = (long)(ttl < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : ttl).TotalMilliseconds;
            }
            calls.Add((chunk.Select(v => v.Value).ToArray(),
                db.ScriptEvaluateAsync(UniqueScript, chunk.Select(v => (RedisKey)keys.Visitor(v.Key.Offer, v.Key.Hash)).ToArray(), args)));
        }
        var unique = new bool[clicks.Count];
        foreach (var (ofVisitor, call) in calls)
        {
            var stored = (RedisResult[])(await call)!;
            for (var j = 0; j < ofVisitor.Length; j++)
            {
                var winner = (string?)stored[j];
                foreach (var i in ofVisitor[j]) unique[i] = clicks[i].ClickId == winner;
            }
        }
        return unique;
    }

    /// A visitor is an IP address and a user agent; hashed so the key stays short and holds no personal data.
    internal static string VisitorHash(ClickRecord c)
    {
        // SHA-256 of "IP\nUSER-AGENT" in UTF-8, encoded on the stack (a user agent is at most 1000 characters).
        var (ip, userAgent) = (c.Ip ?? "", c.UserAgent ?? "");
        var max = Encoding.UTF8.GetMaxByteCount(ip.Length + 1 + userAgent.Length);
        var rented = max > 4096 ? System.Buffers.ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> text = rented ?? stackalloc byte[4096];
        var n = Encoding.UTF8.GetBytes(ip, text);
        text[n++] = (byte)'\n';
        n += Encoding.UTF8.GetBytes(userAgent, text[n..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(text[..n], hash);
        if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        return Convert.ToBase64String(hash[..12]);
    }
}
