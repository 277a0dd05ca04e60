using System.Threading.Channels;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AffiliateTracker.Clicks;

/// Writes clicks to Redis by group commit: concurrent redirects queue their click, one writer sends the
/// whole queue as one pipelined round trip (a SET per click for attribution plus ONE stream entry for the
/// batch), then completes every waiting redirect together. If Redis fails, the batch stays in this
/// process's buffer and is retried with backoff; the redirect itself never fails.
public sealed class ClickRecorder : BackgroundService
{
    private readonly Channel<Pending> _queue;
    private readonly ConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly ClickOptions _options;
    private readonly ILogger<ClickRecorder> _log;
    private readonly TimeProvider _time;
    private int _nextShard;

    private readonly CapCounters _caps;

    public ClickRecorder(ConnectionMultiplexer redis, RedisKeys keys, IOptions<ClickOptions> options,
        ILogger<ClickRecorder> log, TimeProvider time, CapCounters caps)
    {
        _redis = redis; _keys = keys; _options = options.Value; _log = log; _time = time; _caps = caps;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(_options.MaxBuffered)
        {
            SingleReader = true,
            // With Wait, TryWrite answers false when full (DropWrite would drop silently and answer true).
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// Clicks accepted but not yet written to Redis (waiting for a batch, or for Redis to come back).
    public int Buffered => _queue.Reader.Count;

    /// Queues the click and waits for its batch to reach Redis, up to RecordTimeout. Returns whether it
    /// is in Redis; false means it is held locally and will be written later (or, if the local buffer
    /// is full, dropped, which is logged).
    public async ValueTask<bool> RecordAsync(ClickRecord click, TimeSpan attributionWindow, string[]? capCounters = null)
    {
        var pending = new Pending(click, attributionWindow < _options.HotPeriod ? attributionWindow : _options.HotPeriod, capCounters ?? []);
        if (!_queue.Writer.TryWrite(pending))
        {
            _log.LogError("Local click buffer full; click {ClickId} dropped", click.ClickId);
            return false;
        }
        try
        {
            return await pending.Done.Task.WaitAsync(_options.RecordTimeout, _time);
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>(_options.MaxBatch);
        var failures = 0;
        // Drain on shutdown too: the host's stop token only ends the wait for new clicks.
        while (await WaitForClicksAsync(stoppingToken))
        {
            batch.Clear();
            while (batch.Count < _options.MaxBatch && _queue.Reader.TryRead(out var p)) batch.Add(p);
            while (true)
            {
                try
                {
                    await WriteAsync(batch);
                    foreach (var p in batch) p.Done.TrySetResult(true);
                    if (failures > 0) _log.LogInformation("Redis is back; buffered clicks are being written");
                    failures = 0;
                    break;
                }
                catch (Exception e)
                {
                    // The redirects have already answered (or will, at their timeout); keep the clicks.
                    foreach (var p in batch) p.Done.TrySetResult(false);
                    if (failures++ == 0) _log.LogError(e, "Redis write failed; holding {Count} clicks locally", batch.Count + Buffered);
                    var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 50 * Math.Pow(2, Math.Min(failures, 7))));
                    if (stoppingToken.IsCancellationRequested && failures > 3)
                    {
                        _log.LogError("Shutting down with {Count} clicks not written to Redis", batch.Count + Buffered);
                        return;
                    }
                    await Task.Delay(delay, CancellationToken.None);
                }
            }
        }
    }

    private async Task<bool> WaitForClicksAsync(CancellationToken stoppingToken)
    {
        if (_queue.Reader.Count > 0) return true;
        try { return await _queue.Reader.WaitToReadAsync(stoppingToken); }
        catch (OperationCanceledException) { return _queue.Reader.Count > 0; }
    }

    private async Task WriteAsync(List<Pending> batch)
    {
        var db = _redis.GetDatabase();
        var counters = CountersOf(batch);
        var tasks = new Task[batch.Count + 1 + counters.Count];
        var clicks = new ClickRecord[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var p = batch[i];
            clicks[i] = p.Click;
            tasks[i] = db.StringSetAsync(_keys.Click(p.Click.ClickId), ClickCodec.Encode(p.Click, compact: true), p.Ttl);
        }
        var shard = _options.StreamShards <= 1 ? 0 : (int)((uint)Interlocked.Increment(ref _nextShard) % (uint)_options.StreamShards);
        tasks[batch.Count] = db.AddAsync(_keys.ClickStream(shard), ClickCodec.EncodeBatch(clicks));
        var totals = new Task<long>[counters.Count];
        for (var i = 0; i < counters.Count; i++)
        {
            var (key, count) = counters[i];
            totals[i] = db.StringIncrementAsync(key, count);
            // Daily and monthly counters outlive their period a little, then go.
            tasks[batch.Count + 1 + i] = db.KeyExpireAsync(key, TimeSpan.FromDays(32));
        }
        await Task.WhenAll(tasks.Concat(totals));
        for (var i = 0; i < counters.Count; i++) _caps.Observe(counters[i].Key, totals[i].Result);
    }

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

    private sealed class Pending(ClickRecord click, TimeSpan ttl, string[] capCounters)
    {
        public ClickRecord Click { get; } = click;
        public TimeSpan Ttl { get; } = ttl;
        public string[] CapCounters { get; } = capCounters;
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
