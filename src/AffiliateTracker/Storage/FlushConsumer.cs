using System.Diagnostics;
using AffiliateTracker.Observability;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AffiliateTracker.Storage;

/// Reads a Redis stream through the "flushers" consumer group for any number of instances at once:
/// first takes over entries another consumer read but never acknowledged (it crashed or hung), then
/// reads new ones, hands them to `process`, and acknowledges and deletes only what `process` reports
/// done, after it returns. An exception leaves everything pending, to be delivered again.
public sealed class FlushConsumer([FromKeyedServices(RedisKeys.FlusherConnection)] ConnectionMultiplexer redis, TrackerMetrics metrics, ILogger<FlushConsumer> log,
    IOptions<FaultOptions> faults, FlushLane lane)
{
    /// This process's consumer name; unique per process, so a restarted server is a new consumer.
    public string Name { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    // Test-only (FaultOptions): stream labels whose flush kills the process between commit and acknowledgement.
    private readonly string[] _crashAfterCommit = CrashLabels(faults.Value.CrashAfterFlushCommit, log);

    public async Task<int> ConsumeOnceAsync(string stream, int count, TimeSpan reclaimAfter,
        Func<List<RedisStreams.Entry>, Task<IReadOnlyCollection<string>>> process)
    {
        try
        {
            return await ConsumeCoreAsync(stream, count, reclaimAfter, process);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Counted under the stream's label, like the other flush metrics (at_flush_failures_total{stream="clicks:0"}).
            metrics.FlushFailed(Label(stream));
            throw;
        }
    }

    private async Task<int> ConsumeCoreAsync(string stream, int count, TimeSpan reclaimAfter,
        Func<List<RedisStreams.Entry>, Task<IReadOnlyCollection<string>>> process)
    {
        var db = redis.GetDatabase();
        await db.EnsureGroupAsync(stream, RedisKeys.FlusherGroup);
        var entries = await db.AutoClaimAsync(stream, RedisKeys.FlusherGroup, Name, reclaimAfter, count);
        if (entries.Count > 0) log.LogWarning("Took over {Count} unacknowledged entries of {Stream}", entries.Count, stream);
        entries.AddRange(await db.ReadGroupAsync(stream, RedisKeys.FlusherGroup, Name, count));
        var label = Label(stream);
        if (entries.Count == 0)
        {
            metrics.FlushIdle(label);
            return 0;
        }
        var lag = DateTimeOffset.UtcNow - RedisStreams.EntryTime(entries[0].Id);
        using var span = Observability.Telemetry.Source.StartActivity($"flush {label}");
        span?.SetTag("at.stream", stream).SetTag("at.entries", entries.Count);
        IReadOnlyCollection<string> done;
        try
        {
            done = await process(entries);
        }
        catch (Exception e) when (IsBadData(e))
        {
            // One entry the database refuses must not hold up the stream: find it by trying the entries
            // one at a time, and move it to the dead-letter stream for a human.
            var ok = new List<string>();
            foreach (var entry in entries)
            {
                try { ok.AddRange(await process([entry])); }
                catch (Exception one) when (IsBadData(one))
                {
                    await DeadLetterAsync(stream, entry, one.Message);
                    ok.Add(entry.Id);
                }
            }
            done = ok;
        }
        if (done.Count > 0 && _crashAfterCommit.Length > 0 && _crashAfterCommit.Any(label.StartsWith))
            Environment.FailFast($"Faults:CrashAfterFlushCommit: {done.Count} entries of {stream} committed to PostgreSQL, not acknowledged");
        if (done.Count > 0) await db.AckAndDeleteAsync(stream, RedisKeys.FlusherGroup, done.ToList());
        metrics.Flushed(label, done.Count, lag);
        return entries.Count;
    }

    /// Keeps an entry that cannot be applied, with the reason, in "{stream}:dead" (same slot) and logs it.
    public async Task DeadLetterAsync(string stream, RedisStreams.Entry entry, string reason)
    {
        NameValueEntry[] fields = [new("entry", entry.Id), new("reason", reason), .. entry.Fields.Select(f => new NameValueEntry(f.Key, f.Value))];
        await redis.GetDatabase().StreamAddAsync(stream + ":dead", fields);
        log.LogError("Stream entry {EntryId} of {Stream} moved to the dead-letter stream: {Reason}", entry.Id, stream, reason);
    }

    // Data the database refuses (SQLSTATE class 22 data exception, 23 constraint) or that cannot be read; not an outage.
    private static bool IsBadData(Exception e) => e is Npgsql.PostgresException { SqlState: var s } && (s.StartsWith("22") || s.StartsWith("23"))
        || e is System.Text.Json.JsonException or FormatException;

    /// Runs `pass` until stopped: again at once while it finds a full pass of work (a backlog), after `idleDelay`
    /// when it finds none, and otherwise no sooner than `busyInterval` after the last pass began, so that a
    /// flusher keeping up with steady traffic writes fewer, larger batches; with growing backoff while it fails
    /// (a store is down; the entries wait in the stream). A pass in flight when the server stops is finished,
    /// not cancelled, so its batch is written and acknowledged. Runs on the flush lane, behind the answers.
    public Task RunLoopAsync(Func<Task<int>> pass, TimeSpan idleDelay, ILogger log, string what,
        CancellationToken stoppingToken, int fullPass = int.MaxValue, TimeSpan busyInterval = default)
        => lane.Run(() => LoopAsync(pass, idleDelay, log, what, stoppingToken, fullPass, busyInterval));

    private async Task LoopAsync(Func<Task<int>> pass, TimeSpan idleDelay, ILogger log, string what,
        CancellationToken stoppingToken, int fullPass, TimeSpan busyInterval)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var started = Stopwatch.GetTimestamp();
                var done = await pass();
                if (failures > 0) log.LogInformation("{What} recovered after {Failures} failed passes", what, failures);
                failures = 0;
                if (done == 0) await Task.Delay(idleDelay, stoppingToken);
                else if (done < fullPass && busyInterval - Stopwatch.GetElapsedTime(started) is { Ticks: > 0 } rest) await Task.Delay(rest, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                metrics.StoreError(e, what);
                if (failures++ % 20 == 0) log.LogError(e, "{What} failed; retrying", what);
                try { await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 * failures)), stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
    }

    // Option values to stream label prefixes ("clicks" -> "clicks:", "conversions" -> "cv:", "postback-log" -> "plog").
    private static string[] CrashLabels(string? option, ILogger log)
    {
        if (string.IsNullOrWhiteSpace(option)) return [];
        var labels = option.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => v switch
        {
            "clicks" => "clicks:",
            "conversions" => "cv:",
            "postback-log" => "plog",
            _ => throw new InvalidOperationException($"Faults:CrashAfterFlushCommit: unknown stream '{v}' (clicks, conversions, postback-log)"),
        }).ToArray();
        log.LogWarning("TEST-ONLY fault injection on: the process dies after the first flush commit of {Streams}", option);
        return labels;
    }

    // "at:{clicks:0}:stream" -> "clicks:0": the metric label names the stream without the deployment's prefix.
    private static string Label(string stream)
    {
        var open = stream.IndexOf('{');
        var close = stream.IndexOf('}');
        return open >= 0 && close > open ? stream[(open + 1)..close] : stream;
    }
}
