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

    // First click of a visitor on an offer within the window wins. Per click: SET NX stores this click's id
    // when the visitor has none; otherwise the stored id is compared, so a re-delivered click keeps the answer
    // it got the first time. One script call per key slot ({uq:OFFER:B}) for the whole batch, not one
    // command per click. KEYS: visitor keys; ARGV: click id, ttl ms, per key. Returns 1 (unique) / 0 per key.
    private const string UniqueScript = """
        local out = {}
        for i = 1, #KEYS do
          local id = ARGV[2 * i - 1]
          if redis.call('SET', KEYS[i], id, 'NX', 'PX', ARGV[2 * i]) then out[i] = 1
          elseif redis.call('GET', KEYS[i]) == id then out[i] = 1
          else out[i] = 0 end
        end
        return out
        """;

    private const int UniqueKeysPerCall = 128;

    private async Task<bool[]> DecideUniqueAsync(IDatabase db, List<ClickRecord> clicks)
    {
        var now = time.GetUtcNow();
        var visitorHashes = clicks.Select(VisitorHash).ToArray();
        var calls = new List<(int[] Indexes, Task<RedisResult> Result)>();
        // One call per key slot (the offer and the bucket the visitor hash falls in, {uq:OFFER:B}: RedisKeys.Visitor) and
        // at most UniqueKeysPerCall visitors, all sent at once: flushers running side by side decide in the order they
        // reach Redis, so no call waits for another, and a flood from one visitor (every click in one slot) does not hold
        // Redis for milliseconds in one script while the redirect's group commits wait behind it.
        foreach (var indexes in Enumerable.Range(0, clicks.Count).GroupBy(i => (clicks[i].OfferId, RedisKeys.VisitorBucket(visitorHashes[i])))
                     .SelectMany(slot => slot.Chunk(UniqueKeysPerCall)))
        {
            var args = new RedisValue[indexes.Length * 2];
            for (var j = 0; j < indexes.Length; j++)
            {
                var c = clicks[indexes[j]];
                var ttl = _options.UniqueWindow - (now - c.CreatedAt);
                args[2 * j] = c.ClickId;
                args[2 * j + 1] = (long)(ttl < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : ttl).TotalMilliseconds;
            }
            calls.Add((indexes, db.ScriptEvaluateAsync(UniqueScript, indexes.Select(i => (RedisKey)keys.Visitor(clicks[i].OfferId, visitorHashes[i])).ToArray(), args)));
        }
        var unique = new bool[clicks.Count];
        foreach (var (indexes, call) in calls)
        {
            var r = (RedisResult[])(await call)!;
            for (var j = 0; j < indexes.Length; j++) unique[indexes[j]] = (int)r[j] == 1;
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
