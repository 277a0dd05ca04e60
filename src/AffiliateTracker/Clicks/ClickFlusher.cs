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
    ConnectionMultiplexer redis, RedisKeys keys, ClickStore store, StreamConsumer consumer, IOptions<ClickOptions> options,
    ILogger<ClickFlusher> log, TimeProvider time) : BackgroundService
{
    private readonly ClickOptions _options = options.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _options.FlusherEnabled
        ? consumer.RunLoopAsync(() => FlushOnceAsync(_options.ReclaimAfter), _options.FlushIdleDelay, log, "Click flush", stoppingToken)
        : Task.CompletedTask;

    /// One pass over every shard. Returns the number of stream entries handled.
    public async Task<int> FlushOnceAsync(TimeSpan reclaimAfter, CancellationToken ct = default)
    {
        var total = 0;
        for (var shard = 0; shard < keys.ClickShards; shard++)
            total += await consumer.ConsumeOnceAsync(keys.ClickStream(shard), Math.Max(1, _options.FlushBatch / 64), reclaimAfter,
                async entries =>
                {
                    var clicks = new List<ClickRecord>();
                    foreach (var e in entries)
                    {
                        try { clicks.AddRange(ClickCodec.DecodeBatch(e.Payload)); }
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

    // First click of a visitor on an offer within the window wins: SET NX GET stores this click's id when
    // the visitor has none (answering nil) or answers the id stored first; comparing it makes a
    // re-delivered click keep the answer it got the first time. One native command per click (Redis 7).
    private async Task<bool[]> DecideUniqueAsync(IDatabase db, List<ClickRecord> clicks)
    {
        var now = time.GetUtcNow();
        var tasks = new Task<RedisResult>[clicks.Count];
        for (var i = 0; i < clicks.Count; i++)
        {
            var c = clicks[i];
            var ttl = _options.UniqueWindow - (now - c.CreatedAt);
            if (ttl < TimeSpan.FromSeconds(1)) ttl = TimeSpan.FromSeconds(1);
            tasks[i] = db.ExecuteAsync("SET", (RedisKey)keys.Visitor(c.OfferId, VisitorHash(c)), c.ClickId, "NX", "PX", (long)ttl.TotalMilliseconds, "GET");
        }
        await Task.WhenAll(tasks);
        var unique = new bool[clicks.Count];
        for (var i = 0; i < clicks.Count; i++) unique[i] = tasks[i].Result.IsNull || (string?)tasks[i].Result == clicks[i].ClickId;
        return unique;
    }

    /// A visitor is an IP address and a user agent; hashed so the key stays short and holds no personal data.
    internal static string VisitorHash(ClickRecord c)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{c.Ip}\n{c.UserAgent}"), hash);
        return Convert.ToBase64String(hash[..12]);
    }
}
