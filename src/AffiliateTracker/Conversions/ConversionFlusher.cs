using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;

namespace AffiliateTracker.Conversions;

/// Moves conversion events from the Redis streams to PostgreSQL, like the click flusher: read (taking
/// over a dead flusher's entries), apply idempotently in one transaction, then acknowledge.
public sealed class ConversionFlusher(
    RedisKeys keys, FlushConsumer consumer, ConversionStore store, ConversionRecorder recorder, IOptions<ConversionOptions> options,
    ILogger<ConversionFlusher> log, TimeProvider time) : BackgroundService
{
    private readonly ConversionOptions _options = options.Value;

    // A status change whose conversion has not reached PostgreSQL a day after it was reported goes to the
    // dead-letter stream for a human: by then its creation is not merely delayed by an outage.
    private static readonly TimeSpan GiveUpOnMissing = TimeSpan.FromDays(1);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _options.FlusherEnabled
        ? consumer.RunLoopAsync(() => FlushOnceAsync(_options.ReclaimAfter), _options.FlushIdleDelay, log, "Conversion flush", stoppingToken,
            _options.FlushBatch * keys.ConversionShards, _options.FlushInterval)
        : Task.CompletedTask;

    public async Task<int> FlushOnceAsync(TimeSpan reclaimAfter)
    {
        var total = 0;
        for (var shard = 0; shard < keys.ConversionShards; shard++)
            total += await consumer.ConsumeOnceAsync(keys.ConversionStream(shard), _options.FlushBatch, reclaimAfter, async entries =>
            {
                var creates = new List<ConversionCreated>();
                var changes = new List<(string EntryId, ConversionStore.Change Change)>();
                var done = new List<string>();
                foreach (var e in entries)
                {
                    try
                    {
                        if (e.Field("t") == "c")
                        {
                            var c = ConversionCodec.Decode(e.Payload);
                            var redisFlags = (e.Field("f") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
                            // Flags counted in Redis (caps, IP velocity) hold the conversion for review like any other flag.
                            if (redisFlags.Length > 0)
                            {
                                var flags = c.Flags.Concat(redisFlags).ToArray();
                                c = c with { Flags = flags, Status = ConversionRules.StatusOnArrival(c.Status, flags) };
                            }
                            creates.Add(c);
                        }
                        else
                        {
                            changes.Add((e.Id, e.Field("t") == "m"
                                ? new ConversionStore.Change(e.Field("id")!, null, ConversionJson.Deserialize<ConversionConfirmed>(e.Payload))
                                : new ConversionStore.Change(e.Field("id")!, ConversionJson.Deserialize<ConversionStatusChanged>(e.Payload))));
                            continue;
                        }
                    }
                    catch (Exception ex) when (ex is System.Text.Json.JsonException or NullReferenceException or FormatException)
                    {
                        log.LogError(ex, "Unreadable conversion event {EntryId} skipped", e.Id);
                    }
                    done.Add(e.Id);
                }

                var result = await store.ApplyAsync(creates, changes.Select(c => c.Change).ToList(), time.GetUtcNow());
                foreach (var k in result.Conflicts)
                    await recorder.RepointAsync(k.Create.OfferId, k.Create.Goal, k.Create.DedupeKey, k.KeptId, k.KeptStatus);
                var missing = result.Missing.ToHashSet();
                foreach (var (entryId, change) in changes)
                {
                    if (!missing.Contains(change)) { done.Add(entryId); continue; }
                    if (time.GetUtcNow() - change.At > GiveUpOnMissing)
                    {
                        await consumer.DeadLetterAsync(keys.ConversionStream(shard), entries.First(e => e.Id == entryId),
                            $"conversion {change.ConversionId} never reached PostgreSQL");
                        done.Add(entryId);
                    }
                    // Otherwise left unacknowledged: taken over and tried again after ReclaimAfter.
                }
                return done;
            });
        return total;
    }
}
