using System.Net;
using System.Text.Json.Serialization;
using System.Threading.RateLimiting;
using AffiliateTracker.Http;
using AffiliateTracker.Observability;

namespace AffiliateTracker.Conversions;

/// Answers GET/POST /postback: the per-address rate limit, the handler, the log entry and the JSON answer.
/// UsePostbackFastPath runs it before the error handlers, routing and the API's authentication and authorization, none of which
/// applies to an advertiser's server (its token or signature is checked by the handler); the mapped endpoint
/// (PostbackEndpoints) runs the same code for whatever the fast path does not take.
public sealed class PostbackReceiver(PostbackHandler handler, PostbackLog log, TimeProvider time, ILoggerFactory logs,
    TrackerMetrics metrics, [FromKeyedServices(RateLimits.Postback)] PartitionedRateLimiter<IPAddress> limiter)
{
    private readonly ILogger _log = logs.CreateLogger("AffiliateTracker.Postbacks");

    public async Task ReceiveAsync(HttpContext http)
    {
        // Before the exception handler on the fast path: it answers its own failures.
        try
        {
            using var lease = limiter.AttemptAcquire(http.Connection.RemoteIpAddress ?? IPAddress.None);
            if (!lease.IsAcquired)
            {
                await RateLimits.RejectAsync(http, lease, http.RequestAborted);
                return;
            }
            var (outcome, query) = await PostbackEndpoints.RunAsync(http, PostbackHandler.Via.Postback, handler, _log, metrics);
            metrics.Postback("postback", outcome.Decision);
            PostbackEndpoints.Log(log, outcome, PostbackHandler.Via.Postback, query, http, time);
            // Written straight from the source-generated serializer, with its length: no result object and no chunked body.
            var body = outcome.IsSuccess
                ? System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Answer(outcome.Decision, outcome.ConversionId, outcome.Status, outcome.Message),
                    AnswerJsonContext.Default.Answer)
                : System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Refusal(outcome.Decision, outcome.Message), AnswerJsonContext.Default.Refusal);
            http.Response.StatusCode = outcome.IsSuccess ? StatusCodes.Status200OK : outcome.HttpStatus;
            http.Response.ContentType = "application/json; charset=utf-8";
            http.Response.ContentLength = body.Length;
            await http.Response.Body.WriteAsync(body, http.RequestAborted);
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            await ErrorHandling.InternalErrorAsync(http, e);
        }
    }

    internal sealed record Answer(string Result, string? ConversionId, string? Status, string? Message);
    internal sealed record Refusal(string Error, string? Message);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(PostbackReceiver.Answer))]
[JsonSerializable(typeof(PostbackReceiver.Refusal))]
internal sealed partial class AnswerJsonContext : JsonSerializerContext;
