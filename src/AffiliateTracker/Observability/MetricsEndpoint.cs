using System.Diagnostics.Metrics;
using AffiliateTracker.Http;
using System.Globalization;
using System.Text;

namespace AffiliateTracker.Observability;

/// GET /metrics in the Prometheus text format (0.0.4), read from the tracker's own meter and the .NET
/// runtime's ("System.Runtime": GC, thread pool, CPU time, memory). Written by hand because no
/// Prometheus or OpenTelemetry package restores here; with the full NuGet feed,
/// OpenTelemetry.Exporter.Prometheus.AspNetCore would replace this file and read the same instruments.
public sealed class PrometheusExporter : IDisposable
{
    private static readonly HashSet<string> Meters = [TrackerMetrics.MeterName, "System.Runtime"];
    private readonly MeterListener _listener = new();
    private readonly Lock _scrape = new();
    private List<(Instrument Instrument, double Value, KeyValuePair<string, object?>[] Tags)>? _current;

    public PrometheusExporter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only observable instruments: they are read at scrape time and cost nothing in between.
            if (Meters.Contains(instrument.Meter.Name) && IsObservable(instrument)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => _current?.Add((i, v, tags.ToArray())));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => _current?.Add((i, v, tags.ToArray())));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => _current?.Add((i, v, tags.ToArray())));
        _listener.Start();
    }

    public string Scrape()
    {
        List<(Instrument Instrument, double Value, KeyValuePair<string, object?>[] Tags)> samples;
        lock (_scrape)
        {
            _current = [];
            _listener.RecordObservableInstruments();
            samples = _current;
            _current = null;
        }
        var text = new StringBuilder(4096);
        foreach (var group in samples.GroupBy(s => s.Instrument))
        {
            var instrument = group.Key;
            var counter = instrument.GetType().Name.StartsWith("ObservableCounter", StringComparison.Ordinal);
            var name = Name(instrument, counter);
            if (instrument.Description is { Length: > 0 } d) text.Append("# HELP ").Append(name).Append(' ').Append(d.Replace('\n', ' ')).Append('\n');
            text.Append("# TYPE ").Append(name).Append(counter ? " counter\n" : " gauge\n");
            foreach (var (_, value, tags) in group)
            {
                text.Append(name);
                if (tags.Length > 0)
                {
                    text.Append('{');
                    for (var i = 0; i < tags.Length; i++)
                    {
                        if (i > 0) text.Append(',');
                        text.Append(Sanitize(tags[i].Key)).Append("=\"").Append(Escape(tags[i].Value?.ToString() ?? "")).Append('"');
                    }
                    text.Append('}');
                }
                text.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        return text.ToString();
    }

    private static bool IsObservable(Instrument i) => i.GetType().Name.StartsWith("Observable", StringComparison.Ordinal);

    // "at.flush.lag" with unit "s" -> at_flush_lag_seconds; counters end in _total.
    private static string Name(Instrument i, bool counter)
    {
        var name = Sanitize(i.Name);
        var unit = i.Unit switch { "s" => "_seconds", "By" => "_bytes", "ms" => "_milliseconds", _ => "" };
        if (unit.Length > 0 && !name.EndsWith(unit, StringComparison.Ordinal)) name += unit;
        return counter && !name.EndsWith("_total", StringComparison.Ordinal) ? name + "_total" : name;
    }

    private static string Sanitize(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (var c in s) b.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        return b.ToString();
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    public void Dispose() => _listener.Dispose();
}

public static class MetricsEndpoint
{
    public static void MapMetrics(this IEndpointRouteBuilder app) =>
        app.MapGet("/metrics", (HttpContext http, PrometheusExporter exporter, MetricsAccess access) => access.Allows(http.Connection.RemoteIpAddress)
                ? Results.Text(exporter.Scrape(), "text/plain; version=0.0.4; charset=utf-8")
                : Results.Json(new ErrorBody("forbidden", "Metrics are served only to the addresses in Metrics:AllowFrom."), statusCode: 403))
            .WithTags("Operations").WithSummary("Prometheus metrics: clicks and postbacks by outcome, flush lag and batches, deliveries, store errors");
}
