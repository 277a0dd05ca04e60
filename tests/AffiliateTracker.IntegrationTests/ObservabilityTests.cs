using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace AffiliateTracker.IntegrationTests;

/// A local stand-in for an OpenTelemetry collector: records what the tracker pushes over OTLP/HTTP.
public sealed class OtlpListener : IAsyncDisposable
{
    private readonly WebApplication _app;
    public ConcurrentBag<(string Path, byte[] Body)> Received { get; } = [];
    public string Endpoint { get; }

    public OtlpListener()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/{**signal}", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            Received.Add((http.Request.Path.Value!, body.ToArray()));
            return Results.Ok();
        });
        _app.StartAsync().GetAwaiter().GetResult();
        Endpoint = _app.Urls.Single();
    }

    public bool Saw(string path, string text) => Received.Any(r => r.Path == path && Encoding.UTF8.GetString(r.Body).Contains(text));

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// The tracker pushing metrics and traces to the listener.
public sealed class OtlpApp : TrackerApp
{
    public OtlpListener Collector { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Otlp:Endpoint", Collector.Endpoint);
        builder.UseSetting("Otlp:MetricIntervalMs", "300");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Collector.DisposeAsync();
    }
}

public sealed class ObservabilityTests(TrackerApp app, OtlpApp otlp) : IClassFixture<TrackerApp>, IClassFixture<OtlpApp>
{
    // What dashboards and alerts are built on: every name the tracker's meter exports, with its Prometheus type.
    // A series appears once it has a value; these must keep their name and type whenever they do.
    private static readonly Dictionary<string, string> Pinned = new()
    {
        ["at_clicks_total"] = "counter", ["at_clicks_buffered"] = "gauge",
        ["at_click_redis_batches_total"] = "counter", ["at_click_redis_batch_clicks_total"] = "counter",
        ["at_postbacks_total"] = "counter",
        ["at_flush_batches_total"] = "counter", ["at_flush_entries_total"] = "counter", ["at_flush_failures_total"] = "counter",
        ["at_flush_lag_seconds"] = "gauge", ["at_flush_last_batch_size"] = "gauge",
        ["at_publisher_postbacks_total"] = "counter", ["at_store_errors_total"] = "counter",
        ["process_start_time_seconds"] = "gauge",
        ["dotnet_gc_collections_total"] = "counter", ["dotnet_gc_heap_total_allocated_bytes_total"] = "counter",
        ["dotnet_gc_pause_time_seconds_total"] = "counter", ["dotnet_process_cpu_time_seconds_total"] = "counter",
        ["dotnet_process_memory_working_set_bytes"] = "gauge", ["dotnet_thread_pool_queue_length_total"] = "counter",
        ["dotnet_thread_pool_thread_count_total"] = "counter", ["dotnet_monitor_lock_contentions_total"] = "counter",
    };

    private static readonly string[] AlwaysThereOnceUsed =
    [
        "at_clicks_total", "at_clicks_buffered", "at_click_redis_batches_total", "at_click_redis_batch_clicks_total", "at_postbacks_total",
        "at_flush_batches_total", "at_flush_entries_total", "at_flush_lag_seconds", "process_start_time_seconds", "dotnet_gc_heap_total_allocated_bytes_total",
    ];

    [Fact]
    public async Task Metrics_keep_the_names_and_types_dashboards_use()
    {
        var n = await app.CreateNetworkAsync();
        var click = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}"));
        await app.Browser().GetAsync($"/postback?click_id={click}&txid=metrics-1&token=wrong");
        await TrackerApp.WaitForClickRowAsync(click);

        var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Add(TrackerApp.RemoteIpHeader, "127.0.0.1");
        var text = await (await app.Browser().SendAsync(request)).Content.ReadAsStringAsync();
        var types = text.Split('\n').Where(l => l.StartsWith("# TYPE ")).Select(l => l.Split(' ')).ToDictionary(p => p[2], p => p[3]);

        foreach (var name in AlwaysThereOnceUsed) Assert.True(types.ContainsKey(name), $"{name} missing from /metrics");
        foreach (var (name, type) in types.Where(t => Pinned.ContainsKey(t.Key) || t.Key.StartsWith("at_")))
            Assert.True(Pinned.TryGetValue(name, out var pinned) && pinned == type, $"{name} is a {type}; pinned: {pinned ?? "not a known name"}");
        Assert.Matches(@"(?m)^at_clicks_total\{outcome=""redirect""\} \d+", text);
        // Label order is not part of a series' identity; OpenTelemetry writes them sorted.
        Assert.Matches(@"(?m)^at_postbacks_total\{decision=""bad_token"",via=""postback""\} \d+", text);
        Assert.DoesNotContain("otel_scope_name", text);
    }

    [Fact]
    public async Task Each_server_in_a_process_reports_its_own_metrics()
    {
        // The integration tests run several servers in one process; so may a host embedding the tracker.
        await using var first = new TrackerApp();
        await using var second = new TrackerApp();
        var n = await first.CreateNetworkAsync();
        for (var i = 0; i < 3; i++) await first.ClickAsync($"/c/{n.LinkCode}");

        static async Task<string> ScrapeAsync(TrackerApp app)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            request.Headers.Add(TrackerApp.RemoteIpHeader, "127.0.0.1");
            return await (await app.Browser().SendAsync(request)).Content.ReadAsStringAsync();
        }

        Assert.Matches(@"(?m)^at_clicks_total\{outcome=""redirect""\} 3$", await ScrapeAsync(first));
        Assert.DoesNotMatch(@"(?m)^at_clicks_total\{outcome=""redirect""\} [1-9]", await ScrapeAsync(second));
        Assert.Contains("at_clicks_buffered", await ScrapeAsync(second));
    }

    [Fact]
    public async Task With_an_otlp_endpoint_metrics_and_api_traces_reach_the_collector_and_redirects_leave_no_span()
    {
        var n = await otlp.CreateNetworkAsync();
        var admin = await otlp.AdminAsync();
        await admin.GetAsync("/api/v1/me");
        await otlp.ClickAsync($"/c/{n.LinkCode}");

        for (var i = 0; i < 100 && !(otlp.Collector.Saw("/v1/metrics", "at.clicks") && otlp.Collector.Saw("/v1/traces", "/api/v1/me")); i++)
            await Task.Delay(100);

        Assert.True(otlp.Collector.Saw("/v1/metrics", "at.clicks"), "no metrics export with at.clicks");
        Assert.True(otlp.Collector.Saw("/v1/traces", "/api/v1/me"), "no trace of GET /api/v1/me");
        Assert.False(otlp.Collector.Saw("/v1/traces", n.LinkCode), "a redirect left a span");
    }
}
