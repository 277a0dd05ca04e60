using System.Diagnostics;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AffiliateTracker.Observability;

/// Metrics and traces through OpenTelemetry. /metrics is its Prometheus exporter over the tracker's meter and
/// the runtime's, with the names dashboards know (at_clicks_total, at_flush_lag_seconds, ...). With
/// `Otlp:Endpoint` set (an OpenTelemetry collector, OTLP over HTTP), metrics and traces are also pushed there:
/// spans of the API, of each flush pass and of each outbound publisher postback. Tracking-link redirects get no
/// span unless `Otlp:TrackingLinkSampleRatio` samples some: a span per click would cost the redirect.
public static class Telemetry
{
    public const string SourceName = "AffiliateTracker";

    /// Our own spans (flush passes, publisher postbacks). StartActivity returns null, at no cost, with tracing off.
    public static readonly ActivitySource Source = new(SourceName);

    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration config)
    {
        var endpoint = config["Otlp:Endpoint"] is { Length: > 0 } e ? new Uri(e.TrimEnd('/')) : null;
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("affiliatetracker", serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(TrackerMetrics.MeterName(config), "System.Runtime")
                    .AddPrometheusExporter(o =>
                    {
                        // Read at scrape time, never from a cache: the load and fault suites compare these counts with rows.
                        o.ScrapeResponseCacheDurationMilliseconds = 0;
                        // The series stay as dashboards and alerts know them: no otel_scope_* labels, no target_info.
                        o.ScopeInfoEnabled = false;
                        o.TargetInfoEnabled = false;
                    });
                if (endpoint is not null)
                    metrics.AddOtlpExporter((o, reader) =>
                    {
                        Otlp(o, endpoint, "v1/metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = config.GetValue("Otlp:MetricIntervalMs", 15_000);
                    });
            });
        var linkSampleRatio = config.GetValue("Otlp:TrackingLinkSampleRatio", 0.0);
        if (endpoint is not null)
            otel.WithTracing(tracing => tracing
                .AddSource(SourceName)
                .AddAspNetCoreInstrumentation(o =>
                {
                    o.RecordException = true;
                    // A tracking link's span is kept only for the sampled share of clicks.
                    o.Filter = http => !IsTrackingLink(http.Request.Path) || Random.Shared.NextDouble() < linkSampleRatio;
                })
                .AddOtlpExporter(o => Otlp(o, endpoint, "v1/traces")));
        return services;
    }

    private static void Otlp(OtlpExporterOptions o, Uri endpoint, string signal)
    {
        o.Protocol = OtlpExportProtocol.HttpProtobuf;
        o.Endpoint = new Uri(endpoint, endpoint.AbsolutePath.TrimEnd('/') + "/" + signal);
    }

    private static bool IsTrackingLink(PathString path) => path.StartsWithSegments("/c") || path.StartsWithSegments("/click");
}
