using System.Runtime.CompilerServices;
using System.Threading.Channels;
using AffiliateTracker.Observability;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AffiliateTracker.Clicks;

/// Writes clicks to Redis by group commit: concurrent redirects queue their click, one writer sends what
/// queued as one pipelined round trip (ONE hash write holding the batch's attribution records plus ONE
/// stream entry holding the batch; up to MaxBatchesInFlight such batches at once), then completes every
/// waiting redirect together. If Redis fails, the batch stays in this process's buffer and is retried
/// with backoff; the redirect itself never fails. A server stopped while Redis is still down writes its
/// buffer straight to PostgreSQL.
public sealed class ClickRecorder : BackgroundService
{
    private readonly Channel<Pending> _queue;
    private readonly RecordingConnections _redis;
    private readonly RedisKeys _keys;
    private readonly ClickOptions _options;
    private readonly ILogger<ClickRecorder> _log;

    private readonly CapCounters _caps;
    private readonly TrackerMetrics _metrics;
    private readonly ClickStore _store;

    private readonly ReplicaAcks _replicaAcks;

    public ClickRecorder(RecordingConnections redis, RedisKeys keys, IOptions<ClickOptions> options,
        ILogger<ClickRecorder> log, CapCounters caps, TrackerMetrics metrics, ClickStore store, ReplicaAcks replicaAcks)
    {
        _redis = redis; _keys = keys; _replicaAcks = replicaAcks; _options = options.Value; _log = log; _caps = caps; _metrics = metrics; _store = store;
        metrics.ClicksBuffered = () => Buffered;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(_options.MaxBuffered)
        {
            // The writer loop reads; at shutdown without Redis, a batch's spill to PostgreSQL reads the rest.
            SingleReader = false,
            // With Wait, TryWrite answers false when full (DropWrite would drop silently and answer true).
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// Clicks accepted but not yet written to Redis (queued, or in a batch on its way or waiting for Redis).
    public int Buffered => _queue.Reader.Count + Volatile.Read(ref _inBatches);
    private int _inBatches;

    /// Queues the click and waits for its batch to reach Redis, up to RecordTimeout. Returns whether it
    /// is in Redis; false means it is held locally and will be written later (or, if the local buffer
    /// is full, dropped, which is logged).
    public Task<bool> RecordAsync(ClickRecord click, string[]? capCounters = null)
    {
        var pending = new Pending(click, capCounters ?? []);
        if (!_queue.Writer.TryWrite(pending))
        {
            _log.LogError("Local click buffer full; click {ClickId} dropped", click.ClickId);
            return Task.FromResult(false);
        }
        CurrentDeadline().Waiting.Enqueue(pending.Done);
        return pending.Done.Task;
    }

    // The wait is bounded without a timer per redirect: redirects that start within the same short window share one
    // deadline, which releases whichever of them are still waiting when it fires.
    private Deadline? _deadline;
    private const int WindowsPerTimeout = 25;
    private double WindowMs => _options.RecordTimeout.TotalMilliseconds / WindowsPerTimeout;

    private Deadline CurrentDeadline()
    {
        var current = Volatile.Read(ref _deadline);
        var now = Environment.TickCount64;
        if (current is not null && now - current.StartedMs < WindowMs) return current;
        var fresh = new Deadline(now);
        if (Interlocked.CompareExchange(ref _deadline, fresh, current) != current) return Volatile.Read(ref _deadline)!;
        _ = ExpireAsync(fresh);
        return fresh;
    }

    private async Task ExpireAsync(Deadline deadline)
    {
        // A window's redirects are nearly all answered within a round trip of it closing: let go of those then, so their
        // completion sources die young instead of living out the whole timeout. Held for all of it, they were most of
        // what each gen0 collection copied (benchmarks/README.md, "Completion sources let go").
        var sweepAfter = TimeSpan.FromMilliseconds(2 * WindowMs);
        await Task.Delay(sweepAfter);
        List<TaskCompletionSource<bool>>? stillWaiting = null;
        while (deadline.Waiting.TryDequeue(out var done))
            if (!done.Task.IsCompleted) (stillWaiting ??= []).Add(done);
        await Task.Delay(_options.RecordTimeout - sweepAfter);
        // Not yet in Redis: the redirect answers now, and the click stays queued for the writer. (The queue is read
        // again for a redirect that took this deadline just before its window closed and joined it after the sweep.)
        foreach (var done in stillWaiting ?? []) done.TrySetResult(false);
        while (deadline.Waiting.TryDequeue(out var done)) done.TrySetResult(false);
    }

    // Holds only the redirects' completion sources, not their clicks: every click a deadline kept alive survived a gen0
    // collection, which made most collections gen1 ones with pauses of 10-15 ms (benchmarks/README.md).
    private sealed class Deadline(long startedMs)
    {
        public long StartedMs { get; } = startedMs;
        public System.Collections.Concurrent.ConcurrentQueue<TaskCompletionSource<bool>> Waiting { get; } = new();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Up to MaxBatchesInFlight batches travel at once, so a click waits for about one round trip, not for
        // the batch ahead of it too; each batch holds whatever queued while the others were on their way.
        var inFlight = new List<Task>();
        // Drain on shutdown too: the host's stop token only ends the wait for new clicks.
        while (await WaitForClicksAsync(stoppingToken))
        {
            inFlight.RemoveAll(t => t.IsCompleted);
            if (inFlight.Count >= Math.Max(1, _options.MaxBatchesInFlight))
            {
                await Task.WhenAny(inFlight);
                continue;
            }
            var batch = new List<Pending>(Math.Min(_options.MaxBatch, _queue.Reader.Count + 1));
            while (batch.Count < _options.MaxBatch && _queue.Reader.TryRead(out var p)) batch.Add(p);
            if (batch.Count > 0) inFlight.Add(WriteWithRetryAsync(batch, stoppingToken));
        }
        await Task.WhenAll(inFlight);
    }

    private int _failing;

    private async Task WriteWithRetryAsync(List<Pending> batch, CancellationToken stoppingToken)
    {
        Interlocked.Add(ref _inBatches, batch.Count);
        // The batch keeps what is still to be written; shards its replicas confirmed leave it early (WriteAsync).
        try { await WriteUntilDoneAsync(batch, stoppingToken); }
        finally { Interlocked.Add(ref _inBatches, -batch.Count); }
    }

    private async Task WriteUntilDoneAsync(List<Pending> batch, CancellationToken stoppingToken)
    {
        var failures = 0;
        // A batch written again (Redis failed, or its replicas did not confirm it in time) counts towards the caps once.
        var countersDone = new StrongBox<bool>();
        while (true)
        {
            try
            {
                await WriteAsync(batch, countersDone);
                _metrics.ClickBatch(batch.Count);
                foreach (var p in batch) p.Done.TrySetResult(true);
                if (failures > 0 && Interlocked.Exchange(ref _failing, 0) == 1) _log.LogInformation("Redis is back; buffered clicks are being written");
                return;
            }
            catch (Exception e)
            {
                // The redirects have already answered (or will, at their timeout); keep the clicks.
                foreach (var p in batch) p.Done.TrySetResult(false);
                _metrics.StoreError(e, "click_record");
                if (failures++ == 0 && Interlocked.Exchange(ref _failing, 1) == 0)
                    _log.LogError(e, "Redis write failed; holding {Count} clicks locally", Buffered);
                if (stoppingToken.IsCancellationRequested && failures > 3)
                {
                    // Stopping while Redis is down: these clicks were answered 302, and the buffer dies with the
                    // process, so they go straight to PostgreSQL (the flusher's idempotent insert) instead.
                    await SpillToPostgresAsync(batch);
                    return;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 50 * Math.Pow(2, Math.Min(failures, 7)))), CancellationToken.None);
            }
        }
    }

    /// The last resort at shutdown: the batch and everything still queued, written to PostgreSQL directly.
    /// Without Redis nobody can say whether a click is its visitor's first, so these count as repeats
    /// (is_unique = false: unique clicks are under- rather than over-counted). A click also written to Redis
    /// before it went down is one row all the same (ON CONFLICT DO NOTHING).
    private async Task SpillToPostgresAsync(List<Pending> batch)
    {
        var clicks = batch.Select(p => p.Click).ToList();
        while (_queue.Reader.TryRead(out var p)) clicks.Add(p.Click);
        try
        {
            await _store.InsertAsync(clicks, new bool[clicks.Count]);
            _log.LogWarning("Redis is down at shutdown: {Count} buffered clicks written to PostgreSQL directly", clicks.Count);
        }
        catch (Exception e)
        {
            _metrics.StoreError(e, "click_spill");
            _log.LogError(e, "Shutting down with {Count} clicks written to neither Redis nor PostgreSQL; they are lost", clicks.Count);
        }
    }

    private async Task<bool> WaitForClicksAsync(CancellationToken stoppingToken)
    {
        if (_queue.Reader.Count > 0) return true;
        try { return await _queue.Reader.WaitToReadAsync(stoppingToken); }
        catch (OperationCanceledException) { return _queue.Reader.Count > 0; }
    }

    private async Task WriteAsync(List<Pending> batch, StrongBox<bool> countersDone)
    {
        var connection = _redis.Next();
        var writer = _replicaAcks.Begin(connection);
        var db = connection.GetDatabase();
        var tasks = new List<Task>(8);
        var shards = new Dictionary<string, List<Pending>>(_replicaAcks.Enabled ? 1 : 0);
        // Per shard and minute: ONE HSET of the attribution records, one EXPIREAT, and ONE stream entry holding
        // the full records. A batch is almost always one group: three commands for up to MaxBatch clicks.
        foreach (var group in batch.GroupBy(p => (Shard: _keys.ClickShard(p.Click.ClickId), Minute: MinuteOf(p.Click.CreatedAt))))
        {
            var clicks = group.Select(p => p.Click).ToArray();
            var records = new HashEntry[clicks.Length];
            for (var i = 0; i < clicks.Length; i++) records[i] = new HashEntry(clicks[i].ClickId, ClickCodec.Encode(clicks[i], compact: true));
            var hash = _keys.ClickRecords(group.Key.Shard, group.Key.Minute);
            tasks.Add(db.HashSetAsync(hash, records));
            tasks.Add(db.KeyExpireAsync(hash, (group.Key.Minute + TimeSpan.FromMinutes(1) + _options.HotPeriod).UtcDateTime));
            var stream = _keys.ClickStream(group.Key.Shard);
            tasks.Add(db.AddAsync(stream, ClickCodec.EncodeBatch(clicks)));
            if (!_replicaAcks.Enabled) continue;
            if (shards.TryGetValue(stream, out var members)) members.AddRange(group); else shards[stream] = [.. group];
        }
        var counters = countersDone.Value ? [] : CountersOf(batch);
        var totals = new Task<long>[counters.Count];
        for (var i = 0; i < counters.Count; i++)
        {
            var (key, count) = counters[i];
            totals[i] = db.StringIncrementAsync(key, count);
            // Daily and monthly counters outlive their period a little, then go.
            tasks.Add(db.KeyExpireAsync(key, TimeSpan.FromDays(32)));
        }
        await Task.WhenAll(tasks.Concat(totals));
        for (var i = 0; i < counters.Count; i++) _caps.Observe(counters[i].Key, totals[i].Result);
        countersDone.Value = true;
        if (_replicaAcks.Enabled) await ConfirmShardsAsync(batch, writer, shards);
    }

    /// After the writes, not pipelined with them (a write MOVED to another primary is waited for there): each shard
    /// on its own, so a primary whose replica does not answer holds back its own clicks only. Confirmed shards'
    /// redirects are answered at once and leave the batch; the rest is written again (the flush is idempotent).
    private async Task ConfirmShardsAsync(List<Pending> batch, ReplicaAcks.Writer writer, Dictionary<string, List<Pending>> shards)
    {
        var outcomes = await Task.WhenAll(shards.Select(async shard =>
        {
            try
            {
                await _replicaAcks.ConfirmAsync(writer, [shard.Key]);
                foreach (var p in shard.Value) p.Done.TrySetResult(true);
                return (Members: shard.Value, Error: (Exception?)null);
            }
            catch (Exception e) when (e is RedisException or TimeoutException) { return (Members: shard.Value, Error: e); }
        }));
        var failed = outcomes.FirstOrDefault(o => o.Error is not null).Error;
        if (failed is null) return;
        var confirmed = outcomes.Where(o => o.Error is null).SelectMany(o => o.Members).ToHashSet();
        if (confirmed.Count > 0)
        {
            batch.RemoveAll(confirmed.Contains);
            _metrics.ClickBatch(confirmed.Count);
            Interlocked.Add(ref _inBatches, -confirmed.Count);
        }
        throw failed;
    }

    private static DateTimeOffset MinuteOf(DateTimeOffset t) => new(t.Year, t.Month, t.Day, t.Hour, t.Minute, 0, TimeSpan.Zero);

    private static List<(string Key, long Count)> CountersOf(List<Pending> batch)
    {
        Dictionary<string, long>? counts = null;
        foreach (var p in batch)
            foreach (var key in p.CapCounters)
            {
                counts ??= [];
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        return counts is null ? [] : counts.Select(c => (c.Key, c.Value)).ToList();
    }

    private sealed class Pending(ClickRecord click, string[] capCounters)
    {
        public ClickRecord Click { get; } = click;
        public string[] CapCounters { get; } = capCounters;
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
