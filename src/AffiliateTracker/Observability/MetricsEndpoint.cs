using AffiliateTracker.Http;
using OpenTelemetry.Metrics;

namespace AffiliateTracker.Observability;

/// GET /metrics: OpenTelemetry's Prometheus exporter (Telemetry.cs) over the tracker's meter and the .NET
/// runtime's, served only to the addresses in Metrics:AllowFrom.
public static class MetricsEndpoint
{
    public static void MapMetrics(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: branch => branch.Use((http, next) =>
        {
            if (http.RequestServices.GetRequiredService<MetricsAccess>().Allows(http.Connection.RemoteIpAddress)) return next(http);
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return http.Response.WriteAsJsonAsync(new ErrorBody("forbidden", "Metrics are served only to the addresses in Metrics:AllowFrom."));
        }), optionsName: null).WithTags("Operations");
    }
}
