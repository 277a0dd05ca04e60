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
            EntriesPerRead * keys.ConversionShards, _options.FlushInterval)
        : Task.CompletedTask;

    // FlushBatch counts conversions. A "cb" entry holds a creation script call's conversions (a few to dozens under
    // load), so fewer entries are read per pass; a full pass starts the next one at once, so this bounds the
    // transaction, not the rate.
    private int EntriesPerRead => _options.BinaryStreams ? Math.Max(1, _options.FlushBatch / 8) : _options.FlushBatch;

    public async Task<int> FlushOnceAsync(TimeSpan reclaimAfter)
    {
        var total = 0;
        for (var shard = 0; shard < keys.ConversionShards; shard++)
            total += await consumer.ConsumeOnceAsync(keys.ConversionStream(shard), EntriesPerRead, reclaimAfter, async entries =>
            {
                var creates = new List<ConversionCreated>();
                var changes = new List<(string EntryId, ConversionStore.Change Change)>();
                var unreadable = new List<(RedisStreams.Entry Entry, string Reason)>();
                var done = new List<string>();
                foreach (var e in entries)
                {
                    try
                    {
                        switch (e.Field("t"))
                        {
                            case "c":
                                creates.Add(WithRedisFlags(ConversionCodec.Decode(e.Payload), e.Field("f")));
                                break;
                            case "cb":
                                creates.AddRange(ConversionCodec.DecodeBatch(e.Payload).Select(x => WithRedisFlags(x.Conversion, x.Flags)));
                                break;
                            case "s":
                                changes.Add((e.Id, new ConversionStore.Change(e.Field("id")!, ConversionJson.Deserialize<ConversionStatusChanged>(e.Payload))));
                                continue;
                            case "m":
                                changes.Add((e.Id, new ConversionStore.Change(e.Field("id")!, null, ConversionJson.Deserialize<ConversionConfirmed>(e.Payload))));
                                continue;
                            default:
                                throw new FormatException($"unknown event type '{e.Field("t")}'");
                        }
                    }
                    catch (Exception ex) when (ex is System.Text.Json.JsonException or NullReferenceException or FormatException)
                    {
                        unreadable.Add((e, ex.Message));
                        continue;
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
                // Kept for a human, not dropped: such an entry may hold conversions already answered "created". (After
                // the commit, so a failed pass, which is delivered again, does not keep them twice.)
                foreach (var (entry, reason) in unreadable)
                {
                    await consumer.DeadLetterAsync(keys.ConversionStream(shard), entry, $"unreadable conversion event: {reason}");
                    done.Add(entry.Id);
                }
                return done;
            });
        return total;
    }

    // Flags counted in Redis (caps, IP velocity) hold the conversion for review like any other flag.
    private static ConversionCreated WithRedisFlags(ConversionCreated c, string? redisFlags)
    {
        var added = (redisFlags ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (added.Length == 0) return c;
        var flags = c.Flags.Concat(added).ToArray();
        return c with { Flags = flags, Status = ConversionRules.StatusOnArrival(c.Status, flags) };
    }
}
