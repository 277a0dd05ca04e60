using AffiliateTracker.Clicks;
using AffiliateTracker.Http;
using AffiliateTracker.Observability;
using AffiliateTracker.Storage;
using StackExchange.Redis;

namespace AffiliateTracker.Conversions;

/// The advertiser's side of the wire contract: the server-to-server postback and the browser pixel.
public static class PostbackEndpoints
{
    // The smallest transparent GIF: the pixel's only answer, whatever happened (the log says what).
    private static readonly byte[] Gif = Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

    public static void MapPostbacks(this IEndpointRouteBuilder app)
    {
        // UsePostbackFastPath answers these before routing; the endpoint documents the contract and takes what it leaves.
        app.MapMethods("/postback", ["GET", "POST"], (HttpContext http, PostbackReceiver receiver) => receiver.ReceiveAsync(http))
          .WithTags("Conversions").WithSummary("Server-to-server conversion postback")
          .WithDescription("Parameters: click_id (or transaction_id, clickid, cid, subid), goal, amount, currency, txid, status, token.")
          .Produces(StatusCodes.Status200OK, contentType: "application/json");

        app.MapGet("/pixel", async (HttpContext http, PostbackHandler handler, PostbackLog log, TimeProvider time, ILoggerFactory logs, TrackerMetrics metrics) =>
        {
            var (outcome, query) = await RunAsync(http, PostbackHandler.Via.Pixel, handler, logs.CreateLogger("AffiliateTracker.Postbacks"), metrics);
            metrics.Postback("pixel", outcome.Decision);
            Log(log, outcome, PostbackHandler.Via.Pixel, query, http, time);
            http.Response.Headers.CacheControl = "no-store";
            return Results.File(Gif, "image/gif");
        }).WithTags("Conversions").WithSummary("Browser conversion pixel (reads the click cookie; always a 1x1 GIF)");
    }

    /// Postbacks answered beside the click fast path, before the error handlers' wrappers and routing: authentication
    /// and authorization do not apply to them, and cost every postback (benchmarks/README.md). The rate limit does,
    /// and PostbackReceiver takes it itself, and answers its own failures.
    public static void UsePostbackFastPath(this IApplicationBuilder app)
    {
        var receiver = app.ApplicationServices.GetRequiredService<PostbackReceiver>();
        app.Use((HttpContext http, RequestDelegate next) =>
            http.Request.Path.Value == "/postback" && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsPost(http.Request.Method))
                ? receiver.ReceiveAsync(http)
                : next(http));
    }

    internal static async Task<(PostbackOutcome Outcome, Dictionary<string, string> Query)> RunAsync(
        HttpContext http, PostbackHandler.Via via, PostbackHandler handler, ILogger log, TrackerMetrics metrics)
    {
        Dictionary<string, string> parameters = [];
        try
        {
            (parameters, var signed) = await PostbackRequest.ReadParametersAsync(http.Request);
            var parsed = PostbackRequest.Parse(parameters);
            var request = parsed with
            {
                // Only the advertiser's server changes statuses; a browser pixel only reports conversions.
                Status = via == PostbackHandler.Via.Pixel ? null : parsed.Status,
                Signature = http.Request.Headers[PostbackSigning.Header].ToString() is { Length: > 0 } sig ? sig : null,
                Signed = signed,
                Parameters = parameters,
            };
            var cookie = via == PostbackHandler.Via.Pixel && request.OfferId is { } offerId ? ClickCookie.Read(http, offerId) : null;
            if (via == PostbackHandler.Via.Pixel && request.OfferId is null)
                return (PostbackOutcome.Fail(400, "missing_offer_id", "The pixel needs offer_id."), parameters);
            return (await handler.HandleAsync(request, via, cookie, http.Connection.RemoteIpAddress), parameters);
        }
        catch (PostbackRequest.Invalid e)
        {
            return (PostbackOutcome.Fail(e.Error switch { "unsupported_media_type" => 415, "body_too_large" => 413, _ => 400 }, e.Error, e.Message), parameters);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or Npgsql.NpgsqlException)
        {
            // Could not record it durably right now: the advertiser's retry is the right move.
            metrics.StoreError(e, "postback");
            log.LogError(e, "Postback could not be recorded; answered 503");
            return (PostbackOutcome.Fail(503, "unavailable", "The tracker cannot record this right now; retry later."), parameters);
        }
    }

    /// The log entry of a postback or pixel that created nothing. One that created a conversion is logged by the
    /// conversion itself, which carries the caller's address and parameters (postback_log_entries in the database).
    internal static void Log(PostbackLog log, PostbackOutcome o, PostbackHandler.Via via, Dictionary<string, string> query, HttpContext http, TimeProvider time)
    {
        if (o.Decision != PostbackOutcome.Created) log.Write(Entry(o, via, query, http, time));
    }

    private static PostbackLogEntry Entry(PostbackOutcome o, PostbackHandler.Via via, Dictionary<string, string> query, HttpContext http, TimeProvider time)
    {
        var at = time.GetUtcNow();
        return new(EventIds.New(at), at, via == PostbackHandler.Via.Pixel ? "pixel" : "postback", o.AdvertiserId, o.OfferId,
            InputText.Clean(o.ClickId ?? Limit(PostbackRequest.ClickIdNames.Select(n => query.GetValueOrDefault(n)).FirstOrDefault(v => v is not null), 64)),
            InputText.Clean(Limit(query.GetValueOrDefault("txid"), PostbackRequest.MaxTxidLength)), InputText.Clean(Limit(query.GetValueOrDefault("goal"), 50)),
            // The message may quote the request (an unknown goal code): cleaned like the rest, or jsonb refuses a NUL and the entry is lost.
            o.Decision, o.HttpStatus, InputText.Clean(o.Message), o.ConversionId, http.Connection.RemoteIpAddress?.ToString(), InputText.Clean(PostbackLog.Sanitize(query)));
    }

    // Over-long values were refused anyway; the log keeps them in the sanitized query, not in indexed columns.
    private static string? Limit(string? value, int max) => value is { } v && v.Length <= max ? v : null;
}
