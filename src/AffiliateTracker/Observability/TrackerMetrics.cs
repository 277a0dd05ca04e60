using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace AffiliateTracker.Observability;

/// What the tracker counts, as System.Diagnostics.Metrics instruments (meter "AffiliateTracker"), so any
/// exporter can read them; /metrics renders them in the Prometheus text format. Hot-path counts are plain
/// atomic increments of a field that an observable instrument reads at scrape time: a redirect pays one
/// interlocked add, never a callback or an allocation.
public sealed class TrackerMetrics : IDisposable
{
    /// The meter's name: "AffiliateTracker", unless `Observability:MeterName` says otherwise. OpenTelemetry's
    /// exporters pick meters by name across the whole process, so several servers in one process (the integration
    /// tests) each take a name of their own; the exported metric names are the instruments', and do not change.
    public static string MeterName(IConfiguration config) => config["Observability:MeterName"] ?? "AffiliateTracker";

    private readonly Meter _meter;

    // Labels are drawn from small fixed sets (outcomes, decisions, stream names), so these maps stay small.
    private readonly ConcurrentDictionary<string, StrongBox<long>> _clicks = new();
    private readonly ConcurrentDictionary<(string Via, string Decision), StrongBox<long>> _postbacks = new();
    private readonly ConcurrentDictionary<string, FlushState> _flush = new();
    private readonly ConcurrentDictionary<string, StrongBox<long>> _deliveries = new();
    private readonly ConcurrentDictionary<(string Store, string Where), StrongBox<long>> _storeErrors = new();
    private long _clickBatches, _clickBatchClicks;

    /// Clicks accepted by this process but not yet in Redis (set by the click recorder).
    public Func<long> ClicksBuffered { get; set; } = () => 0;

    public TrackerMetrics(IMeterFactory meters, IConfiguration config)
    {
        _meter = meters.Create(MeterName(config), "1.0");
        // The Prometheus convention: tells process lifetimes apart (counters start again at 0 after a restart).
        var started = new DateTimeOffset(System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
        _meter.CreateObservableGauge("process.start_time", () => started, unit: "s", description: "When this process started, in seconds since the Unix epoch");
        _meter.CreateObservableCounter("at.clicks", () => Read(_clicks, "outcome"), description: "Click requests by outcome (redirect = recorded and sent to the landing page)");
        _meter.CreateObservableGauge("at.clicks.buffered", () => ClicksBuffered(), description: "Clicks held in this process until Redis takes them");
        _meter.CreateObservableCounter("at.click.redis_batches", () => Volatile.Read(ref _clickBatches), description: "Group-commit writes of clicks to Redis");
        _meter.CreateObservableCounter("at.click.redis_batch_clicks", () => Volatile.Read(ref _clickBatchClicks), description: "Clicks written to Redis by group commit");
        _meter.CreateObservableCounter("at.postbacks", () => _postbacks.Select(p =>
            new Measurement<long>(Volatile.Read(ref p.Value.Value), Tag("via", p.Key.Via), Tag("decision", p.Key.Decision))),
            description: "Inbound postbacks and pixels by decision");
        _meter.CreateObservableCounter("at.flush.batches", () => _flush.Select(f => new Measurement<long>(Volatile.Read(ref f.Value.Batches), Tag("stream", f.Key))),
            description: "Batches written from a Redis stream to PostgreSQL");
        _meter.CreateObservableCounter("at.flush.entries", () => _flush.Select(f => new Measurement<long>(Volatile.Read(ref f.Value.Entries), Tag("stream", f.Key))),
            description: "Stream entries written to PostgreSQL and acknowledged");
        _meter.CreateObservableCounter("at.flush.failures", () => _flush.Select(f => new Measurement<long>(Volatile.Read(ref f.Value.Failures), Tag("stream", f.Key))),
            description: "Flush passes that failed (the entries stay in the stream)");
        _meter.CreateObservableGauge("at.flush.lag", () => _flush.Select(f => new Measurement<double>(f.Value.LagSeconds, Tag("stream", f.Key))),
            unit: "s", description: "Age of the oldest entry of the last batch when it was read");
        _meter.CreateObservableGauge("at.flush.last_batch_size", () => _flush.Select(f => new Measurement<long>(Volatile.Read(ref f.Value.LastBatch), Tag("stream", f.Key))),
            description: "Entries in the last batch read from the stream");
        _meter.CreateObservableCounter("at.publisher_postbacks", () => Read(_deliveries, "result"), description: "Outbound publisher postback attempts by result");
        _meter.CreateObservableCounter("at.store.errors", () => _storeErrors.Select(p =>
            new Measurement<long>(Volatile.Read(ref p.Value.Value), Tag("store", p.Key.Store), Tag("where", p.Key.Where))),
            description: "Redis and PostgreSQL errors by where they happened");
    }

    public void Click(string outcome) => Interlocked.Increment(ref _clicks.GetOrAdd(outcome, _ => new StrongBox<long>()).Value);

    public void ClickBatch(int clicks)
    {
        Interlocked.Increment(ref _clickBatches);
        Interlocked.Add(ref _clickBatchClicks, clicks);
    }

    public void Postback(string via, string decision) =>
        Interlocked.Increment(ref _postbacks.GetOrAdd((via, decision), _ => new StrongBox<long>()).Value);

    public void Flushed(string stream, int entries, TimeSpan lag)
    {
        var f = _flush.GetOrAdd(stream, _ => new FlushState());
        Interlocked.Increment(ref f.Batches);
        Interlocked.Add(ref f.Entries, entries);
        Volatile.Write(ref f.LastBatch, entries);
        f.LagSeconds = Math.Max(0, lag.TotalSeconds);
    }

    public void FlushIdle(string stream)
    {
        var f = _flush.GetOrAdd(stream, _ => new FlushState());
        Volatile.Write(ref f.LastBatch, 0);
        f.LagSeconds = 0;
    }

    public void FlushFailed(string stream) => Interlocked.Increment(ref _flush.GetOrAdd(stream, _ => new FlushState()).Failures);

    public void Delivery(string result) => Interlocked.Increment(ref _deliveries.GetOrAdd(result, _ => new StrongBox<long>()).Value);

    public void StoreError(Exception e, string where)
    {
        var store = e switch
        {
            StackExchange.Redis.RedisException or TimeoutException => "redis",
            Npgsql.NpgsqlException => "postgres",
            _ => null,
        };
        if (store is not null) Interlocked.Increment(ref _storeErrors.GetOrAdd((store, where), _ => new StrongBox<long>()).Value);
    }

    private static KeyValuePair<string, object?> Tag(string key, object value) => new(key, value);

    private static IEnumerable<Measurement<long>> Read(ConcurrentDictionary<string, StrongBox<long>> map, string label) =>
        map.Select(p => new Measurement<long>(Volatile.Read(ref p.Value.Value), new KeyValuePair<string, object?>(label, p.Key)));

    public void Dispose() => _meter.Dispose();

    private sealed class FlushState
    {
        public long Batches, Entries, Failures, LastBatch;
        public double LagSeconds;
    }
}
