using AffiliateTracker.Storage;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using AffiliateTracker.Observability;
using Microsoft.Extensions.Primitives;

namespace AffiliateTracker.Clicks;

/// The redirect: GET /c/{code} (a publisher's tracking link) and GET /click?offer_id=..&aff_id=..
/// Only cheap checks run before the 302 (link, offer and publisher status, access, country); the click
/// goes to Redis by group commit and never waits on PostgreSQL.
public static class ClickEndpoints
{
    public const int MaxParamLength = 255;
    public const string CookiePrefix = "atc_";

    public static void MapClicks(this IEndpointRouteBuilder app)
    {
        app.MapGet("/c/{code}", (string code, HttpContext http, NetworkCache network, ClickRecorder recorder, CapCounters caps, TimeProvider time,
            TrackerMetrics metrics) => Link(http, code, network, recorder, caps, time, metrics)).ExcludeFromDescription();

        app.MapGet("/click", (HttpContext http, NetworkCache network, ClickRecorder recorder, CapCounters caps, TimeProvider time, TrackerMetrics metrics) =>
        {
            var q = http.Request.Query;
            if (!TryId(q["offer_id"], out var offerId))
                return ValueTask.FromResult(Refuse(metrics, "invalid", ErrorPage.Result(http, 400, "invalid_offer_id", "offer_id must be a positive whole number.")));
            if (!TryId(q["aff_id"], out var publisherId))
                return ValueTask.FromResult(Refuse(metrics, "invalid", ErrorPage.Result(http, 400, "invalid_aff_id", "aff_id must be a positive whole number.")));
            return Redirect(http, network.Current, offerId, publisherId, null, recorder, caps, time, metrics);
        }).ExcludeFromDescription();
    }

    /// The redirect as the pipeline's first stop after the error handlers: a click skips routing,
    /// authentication, rate limiting and authorization (none of which applies to it), which measurably cost
    /// the redirect (benchmarks/README.md). Same logic as the mapped endpoints above, which serve whatever
    /// this does not take (a trailing slash, another method).
    public static void UseClickFastPath(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        var (network, recorder, caps, time, metrics) = (services.GetRequiredService<NetworkCache>(), services.GetRequiredService<ClickRecorder>(),
            services.GetRequiredService<CapCounters>(), services.GetRequiredService<TimeProvider>(), services.GetRequiredService<TrackerMetrics>());
        app.Use((HttpContext http, RequestDelegate next) =>
        {
            var path = http.Request.Path.Value;
            if (path is null || !HttpMethods.IsGet(http.Request.Method)) return next(http);
            return path.Length > 3 && path.StartsWith("/c/", StringComparison.Ordinal) && path.IndexOf('/', 3) < 0
                ? ExecuteAsync(http, Link(http, path[3..], network, recorder, caps, time, metrics))
                : next(http);
        });
    }

    private static async Task ExecuteAsync(HttpContext http, ValueTask<IResult> result) => await (await result).ExecuteAsync(http);

    private static ValueTask<IResult> Link(HttpContext http, string code, NetworkCache network, ClickRecorder recorder, CapCounters caps,
        TimeProvider time, TrackerMetrics metrics)
    {
        var snapshot = network.Current;
        var link = snapshot.Link(code);
        return link is null
            ? ValueTask.FromResult(Refuse(metrics, "unknown_link", ErrorPage.Result(http, 404, "unknown_link", "This tracking link does not exist.")))
            : Redirect(http, snapshot, link.OfferId, link.PublisherId, link, recorder, caps, time, metrics);
    }

    private static IResult Refuse(TrackerMetrics metrics, string outcome, IResult result)
    {
        metrics.Click(outcome);
        return result;
    }

    private static async ValueTask<IResult> Redirect(HttpContext http, NetworkSnapshot snapshot, long offerId, long publisherId,
        LinkConfig? link, ClickRecorder recorder, CapCounters caps, TimeProvider time, TrackerMetrics metrics)
    {
        var offer = snapshot.Offer(offerId);
        var publisher = snapshot.Publisher(publisherId);
        if (offer is null || publisher is null)
            return Refuse(metrics, "unknown_link", ErrorPage.Result(http, 404, "unknown_offer", "This offer or publisher does not exist."));

        var q = http.Request.Query;
        string? sub1, sub2, sub3, sub4, sub5, source;
        string? bad;
        if ((bad = Param(q, "sub1", out sub1)) is not null || (bad = Param(q, "sub2", out sub2)) is not null
            || (bad = Param(q, "sub3", out sub3)) is not null || (bad = Param(q, "sub4", out sub4)) is not null
            || (bad = Param(q, "sub5", out sub5)) is not null || (bad = Param(q, "source", out source)) is not null)
            return Refuse(metrics, "invalid", ErrorPage.Result(http, 400, "invalid_parameter", $"{bad} must be at most {MaxParamLength} characters."));

        var headers = http.Request.Headers;
        var userAgent = Truncate(headers.UserAgent.ToString(), 1000);
        var country = Country(headers["CF-IPCountry"]);
        var click = new ClickRecord(
            Ulid.New(time.GetUtcNow()), default, offerId, publisherId, link?.Id,
            sub1, sub2, sub3, sub4, sub5, source,
            http.Connection.RemoteIpAddress?.ToString(), userAgent, Truncate(headers.Referer.ToString(), 2000), country,
            BotDetector.IsBot(userAgent));
        click = click with { CreatedAt = ClickTimestamp(click.ClickId) };

        // Traffic the offer cannot take goes to its fallback URL (or a clear page), and is not a click on it.
        var refusal = !offer.IsActive ? "offer_paused"
            : !publisher.IsActive ? "publisher_suspended"
            : link is { IsActive: false } ? "link_disabled"
            : !snapshot.HasAccess(offerId, publisherId) ? "no_access"
            : country is not null && offer.AllowedCountries.Count > 0 && !offer.AllowedCountries.Contains(country) ? "country_not_allowed"
            : caps.Reached(offer, snapshot.PublisherCaps(offerId, publisherId), publisherId, click.CreatedAt);
        if (refusal is not null)
        {
            if (offer.FallbackUrl is null)
                return Refuse(metrics, "refused", ErrorPage.Result(http, 404, refusal, "This offer is not available right now."));
            metrics.Click("fallback");
            NoStore(http);
            return Results.Redirect(LandingUrl.Expand(offer.FallbackUrl, click));
        }

        await recorder.RecordAsync(click, caps.CountClick(offer, snapshot.PublisherCaps(offerId, publisherId), publisherId, click.CreatedAt));

        metrics.Click("redirect");
        ClickCookie.Set(http, offerId, click.ClickId, offer.AttributionWindow);
        NoStore(http);
        return Results.Redirect(LandingUrl.Expand(offer.LandingUrl, click));
    }

    private static DateTimeOffset ClickTimestamp(string clickId) =>
        Ulid.TryGetTimestamp(clickId, out var ts) ? ts : throw new InvalidOperationException("Generated an invalid click id");

    private static void NoStore(HttpContext http) => http.Response.Headers.CacheControl = "no-store";

    // The first value counts when a parameter is repeated; empty means absent.
    private static string? Param(IQueryCollection q, string name, out string? value)
    {
        var v = q[name];
        value = v.Count == 0 || string.IsNullOrEmpty(v[0]) ? null : InputText.Clean(v[0]);
        return value is { Length: > MaxParamLength } ? name : null;
    }

    private static bool TryId(StringValues v, out long id) =>
        long.TryParse(v.ToString(), System.Globalization.NumberStyles.None, null, out id) && id > 0;

    private static string? Truncate(string s, int max) => s.Length == 0 ? null : InputText.Clean(s.Length <= max ? s : s[..max]);

    // Cloudflare's header when the tracker sits behind it; XX and T1 (Tor) mean unknown.
    private static string? Country(StringValues v)
    {
        var s = v.ToString();
        return s.Length == 2 && char.IsAsciiLetter(s[0]) && char.IsAsciiLetter(s[1]) && s is not ("XX" or "T1")
            ? s.ToUpperInvariant() : null;
    }
}
