using StackExchange.Redis;

namespace AffiliateTracker.Storage;

/// Reads a Redis stream through the "flushers" consumer group for any number of instances at once:
/// first takes over entries another consumer read but never acknowledged (it crashed or hung), then
/// reads new ones, hands them to `process`, and acknowledges and deletes only what `process` reports
/// done, after it returns. An exception leaves everything pending, to be delivered again.
public sealed class StreamConsumer(ConnectionMultiplexer redis, ILogger<StreamConsumer> log)
{
    /// This process's consumer name; unique per process, so a restarted server is a new consumer.
    public string Name { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    public async Task<int> ConsumeOnceAsync(string stream, int count, TimeSpan reclaimAfter,
        Func<List<RedisStreams.Entry>, Task<IReadOnlyCollection<string>>> process)
    {
        var db = redis.GetDatabase();
        await db.EnsureGroupAsync(stream, RedisKeys.FlusherGroup);
        var entries = await db.AutoClaimAsync(stream, RedisKeys.FlusherGroup, Name, reclaimAfter, count);
        if (entries.Count > 0) log.LogWarning("Took over {Count} unacknowledged entries of {Stream}", entries.Count, stream);
        entries.AddRange(await db.ReadGroupAsync(stream, RedisKeys.FlusherGroup, Name, count));
        if (entries.Count == 0) return 0;
        var done = await process(entries);
        if (done.Count > 0) await db.AckAndDeleteAsync(stream, RedisKeys.FlusherGroup, done.ToList());
        return entries.Count;
    }

    /// Runs `pass` until stopped: again at once while it finds work, after `idleDelay` when it does not,
    /// with growing backoff while it fails (a store is down; the entries wait in the stream). A pass in
    /// flight when the server stops is finished, not cancelled, so its batch is written and acknowledged.
    public static async Task RunLoopAsync(Func<Task<int>> pass, TimeSpan idleDelay, ILogger log, string what,
        CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var done = await pass();
                if (failures > 0) log.LogInformation("{What} recovered after {Failures} failed passes", what, failures);
                failures = 0;
                if (done == 0) await Task.Delay(idleDelay, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                if (failures++ % 20 == 0) log.LogError(e, "{What} failed; retrying", what);
                try { await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 * failures)), stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
    }
}
