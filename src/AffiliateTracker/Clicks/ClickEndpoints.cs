using AffiliateTracker.Storage;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using AffiliateTracker.Observability;
using Microsoft.Extensions.Primitives;

namespace AffiliateTracker.Clicks;

/// The redirect: GET /c/{code} (a publisher's tracking link), GET /s/{code} (a smart link, which picks the offer)
/// and GET /click?offer_id=..&aff_id=..; each takes `url=` for a deep link to a page on the offer's domains.
/// Only cheap checks run before the 302 (link, offer and publisher status, access, country); the click
/// goes to Redis by group commit and never waits on PostgreSQL.
public static class ClickEndpoints
{
    public const int MaxParamLength = 255;
    /// The most one click may cost: a bid above this is a typo or an attack on the reports, not a price.
    public const decimal MaxClickCost = 1000m;
    public const string CookiePrefix = "atc_";

    public static void MapClicks(this IEndpointRouteBuilder app)
    {
        Delegate link = (string code, HttpContext http, NetworkCache network, ClickRecorder recorder, CapCounters caps, TimeProvider time,
            TrackerMetrics metrics, VisitorCountry countries) => Link(http, code, network, recorder, caps, time, metrics, countries);
        Delegate byIds = (HttpContext http, NetworkCache network, ClickRecorder recorder, CapCounters caps, TimeProvider time, TrackerMetrics metrics,
            VisitorCountry countries) =>
        {
            var q = http.Request.Query;
            if (!TryId(q["offer_id"], out var offerId))
                return Refuse(http, metrics, "invalid", ErrorPage.Result(http, 400, "invalid_offer_id", "offer_id must be a positive whole number."));
            if (!TryId(q["aff_id"], out var publisherId))
                return Refuse(http, metrics, "invalid", ErrorPage.Result(http, 400, "invalid_aff_id", "aff_id must be a positive whole number."));
            return Redirect(http, network.Current, offerId, publisherId, null, recorder, caps, time, metrics, countries);
        };
        Delegate smart = (string code, HttpContext http, NetworkCache network, ClickRecorder recorder, CapCounters caps, TimeProvider time,
            TrackerMetrics metrics, VisitorCountry countries) => SmartLink(http, code, network, recorder, caps, time, metrics, countries);
        app.MapGet("/c/{code}", link).WithTags("Clicks").WithSummary("A publisher's tracking link: 302 to the offer's landing page (or the deep link's page) with the click cookie");
        app.MapGet("/s/{code}", smart).WithTags("Clicks").WithSummary("A publisher's smart link: 302 to the offer its rules choose for this visitor, or to its fallback");
        app.MapMethods("/s/{code}", ["HEAD"], smart).ExcludeFromDescription();
        app.MapGet("/click", byIds).WithTags("Clicks").WithSummary("A click by ids (offer_id, aff_id): the same answer as a tracking link");
        // HEAD is what link checkers and previewers send: the same answer as GET, and no click (documented with GET).
        app.MapMethods("/c/{code}", ["HEAD"], link).ExcludeFromDescription();
        app.MapMethods("/click", ["HEAD"], byIds).ExcludeFromDescription();
    }

    /// The redirect as the pipeline's first stop after the response headers and the client's address: a click
    /// skips the error handlers' wrappers, routing, authentication, rate limiting and authorization (none of which
    /// applies to it), which measurably cost the redirect (benchmarks/README.md); it answers its own failures.
    /// Same logic as the mapped endpoints above, which serve whatever this does not take (a trailing slash,
    /// another method).
    public static void UseClickFastPath(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        var (network, recorder, caps, time, metrics) = (services.GetRequiredService<NetworkCache>(), services.GetRequiredService<ClickRecorder>(),
            services.GetRequiredService<CapCounters>(), services.GetRequiredService<TimeProvider>(), services.GetRequiredService<TrackerMetrics>());
        var countries = services.GetRequiredService<VisitorCountry>();
        app.Use((HttpContext http, RequestDelegate next) =>
        {
            var path = http.Request.Path.Value;
            if (path is null || !(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method))) return next(http);
            if (path.Length <= 3 || path[0] != '/' || path[2] != '/' || path.IndexOf('/', 3) >= 0) return next(http);
            try
            {
                return path[1] switch
                {
                    'c' => Link(http, path[3..], network, recorder, caps, time, metrics, countries),
                    's' => SmartLink(http, path[3..], network, recorder, caps, time, metrics, countries),
                    _ => next(http),
                };
            }
            catch (Exception e)
            {
                return ErrorHandling.InternalErrorAsync(http, e);
            }
        });
    }

    // Both routes write their answer themselves (a handler returning Task): the redirect sets its status and
    // Location directly, without a result object, and without the per-request service scope that
    // RedirectHttpResult opens to find a logger.
    private static Task Link(HttpContext http, string code, NetworkCache network, ClickRecorder recorder, CapCounters caps,
        TimeProvider time, TrackerMetrics metrics, VisitorCountry countries)
    {
        var snapshot = network.Current;
        var link = snapshot.Link(code);
        return link is null
            ? Refuse(http, metrics, "unknown_link", ErrorPage.Result(http, 404, "unknown_link", "This tracking link does not exist."))
            : Redirect(http, snapshot, link.OfferId, link.PublisherId, link, recorder, caps, time, metrics, countries);
    }

    // A smart link's rules pick the offer from the snapshot; the click is then that offer's, with the smart link
    // and rule recorded on it. No offer able to take the visitor sends them to the smart link's fallback, and no
    // click is recorded; a disabled smart link or a suspended publisher answers 404.
    private static Task SmartLink(HttpContext http, string code, NetworkCache network, ClickRecorder recorder, CapCounters caps,
        TimeProvider time, TrackerMetrics metrics, VisitorCountry countries)
    {
        var snapshot = network.Current;
        var smart = snapshot.SmartLink(code);
        if (smart is null) return Refuse(http, metrics, "unknown_link", ErrorPage.Result(http, 404, "unknown_link", "This tracking link does not exist."));
        var headers = http.Request.Headers;
        var country = VisitorCountry.FromHeader(headers[VisitorCountry.CloudflareHeader]) ?? countries.Lookup(http.Connection.RemoteIpAddress);
        // The fallback is the publisher's own URL: a disabled smart link or a suspended publisher sends nobody there.
        if (!smart.IsActive || snapshot.Publisher(smart.PublisherId) is not { IsActive: true })
            return Refuse(http, metrics, "refused", ErrorPage.Result(http, 404, "link_disabled", "This tracking link is not active."));
        var choice = SmartLinkChoice.Choose(snapshot, smart, country, headers.UserAgent.ToString(), caps, time.GetUtcNow());
        if (choice is not { } chosen)
        {
            metrics.Click("fallback");
            Found(http, SmartFallback(smart, http.Request.Query));
            return Task.CompletedTask;
        }
        return Redirect(http, snapshot, chosen.Offer.Id, smart.PublisherId, null, recorder, caps, time, metrics, countries,
            smart.Id, chosen.Rule, country);
    }

    // The fallback's macros take the visitor's sub-ids and source, and the publisher; there is no click or offer.
    private static string SmartFallback(SmartLinkConfig smart, IQueryCollection q) =>
        UrlMacros.Expand(smart.FallbackUrl, (q, smart.PublisherId), static (name, state, out value) =>
        {
            value = name switch
            {
                "sub1" or "sub2" or "sub3" or "sub4" or "sub5" or "source" => state.q[name.ToString()] is { Count: > 0 } v
                    && InputText.Clean(v[0]) is { Length: > 0 and <= MaxParamLength } clean ? clean : null,
                "aff_id" => state.PublisherId.ToString(),
                _ => null,
            };
            return name is "sub1" or "sub2" or "sub3" or "sub4" or "sub5" or "source" or "aff_id" or "click_id" or "offer_id" or "url";
        });

    private static Task Refuse(HttpContext http, TrackerMetrics metrics, string outcome, IResult result)
    {
        metrics.Click(outcome);
        return result.ExecuteAsync(http);
    }

    // Everything up to the write to Redis runs synchronously here; only the wait for the group commit is
    // async, in a method with a small state machine (it is allocated for every click).
    private static Task Redirect(HttpContext http, NetworkSnapshot snapshot, long offerId, long publisherId,
        LinkConfig? link, ClickRecorder recorder, CapCounters caps, TimeProvider time, TrackerMetrics metrics, VisitorCountry countries,
        long? smartLinkId = null, int? smartRule = null, string? knownCountry = null)
    {
        var offer = snapshot.Offer(offerId);
        var publisher = snapshot.Publisher(publisherId);
        if (offer is null || publisher is null)
            return Refuse(http, metrics, "unknown_link", ErrorPage.Result(http, 404, "unknown_offer", "This offer or publisher does not exist."));

        var q = ClickQuery.Parse(http.Request.QueryString);
        string? sub1, sub2, sub3, sub4, sub5, source;
        string? bad;
        if ((bad = Param(q.Sub1, "sub1", out sub1)) is not null || (bad = Param(q.Sub2, "sub2", out sub2)) is not null
            || (bad = Param(q.Sub3, "sub3", out sub3)) is not null || (bad = Param(q.Sub4, "sub4", out sub4)) is not null
            || (bad = Param(q.Sub5, "sub5", out sub5)) is not null || (bad = Param(q.Source, "source", out source)) is not null)
            return Refuse(http, metrics, "invalid", ErrorPage.Result(http, 400, "invalid_parameter", $"{bad} must be at most {MaxParamLength} characters."));

        // What the publisher paid for this click (cost=, in the offer's currency or cost_currency=), as trackers for
        // bought traffic pass it; an amount that is no amount, negative or absurd is refused like a bad sub-id.
        decimal? cost = null;
        if (q.Cost is { } costText)
        {
            if (!decimal.TryParse(costText, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var c)
                || c > MaxClickCost || decimal.Round(c, 6) != c)
                return Refuse(http, metrics, "invalid", ErrorPage.Result(http, 400, "invalid_cost", $"cost must be an amount from 0 to {MaxClickCost} with at most 6 decimals."));
            if (q.CostCurrency is { } currency && !currency.Equals(offer.Currency, StringComparison.OrdinalIgnoreCase))
            {
                if (snapshot.Rate(currency.ToUpperInvariant(), offer.Currency) is not { } rate)
                    return Refuse(http, metrics, "invalid", ErrorPage.Result(http, 400, "invalid_cost_currency",
                        "cost_currency must be the offer's currency or one the network has an exchange rate for."));
                // The cap holds in the offer's currency too: a huge rate must not turn a bid into an overflow.
                if (rate > 1_000_000m || (c = decimal.Round(c * rate, 6)) > MaxClickCost)
                    return Refuse(http, metrics, "invalid", ErrorPage.Result(http, 400, "invalid_cost", $"cost must be at most {MaxClickCost} in the offer's currency."));
            }
            cost = c;
        }
        var headers = http.Request.Headers;
        var userAgent = Truncate(headers.UserAgent.ToString(), 1000);
        // The country decides where the visitor goes only on an offer sold in some countries; for every other
        // click the flusher looks it up after the redirect.
        var country = knownCountry ?? VisitorCountry.FromHeader(headers[VisitorCountry.CloudflareHeader]);
        if (country is null && smartLinkId is null && offer.AllowedCountries.Count > 0) country = countries.Lookup(http.Connection.RemoteIpAddress);
        // A deep link goes only to a host the offer lists; anything else goes to the landing page, and the click says so.
        var deepLink = q.Url is { } url && DeepLinkRules.AllowedHost(url, offer.DeepLinkDomains) is not null ? url : null;
        var deepLinkRefused = deepLink is null && q.Url is not null;
        var clickId = Ulid.New(time.GetUtcNow());
        var click = new ClickRecord(
            clickId, ClickTimestamp(clickId), offerId, publisherId, link?.Id,
            sub1, sub2, sub3, sub4, sub5, source,
            http.Connection.RemoteIpAddress?.ToString(), userAgent, Truncate(headers.Referer.ToString(), 2000), country,
            BotDetector.IsBot(userAgent))
        {
            DeepLink = deepLink, DeepLinkRefused = deepLinkRefused, SmartLinkId = smartLinkId, SmartRule = smartRule, Cost = cost,
        };

        // Traffic the offer cannot take goes to its fallback URL (or a clear page), and is not a click on it.
        var refusal = !offer.IsActive ? "offer_paused"
            : !publisher.IsActive ? "publisher_suspended"
            : link is { IsActive: false } ? "link_disabled"
            : !snapshot.HasAccess(offerId, publisherId) ? "no_access"
            // An unknown country is not an allowed one: a country-restricted landing page sees only its countries.
            : offer.AllowedCountries.Count > 0 && (country is null || !offer.AllowedCountries.Contains(country)) ? "country_not_allowed"
            : caps.Reached(offer, snapshot.PublisherCaps(offerId, publisherId), publisherId, click.CreatedAt);
        if (refusal is not null)
        {
            if (offer.FallbackUrl is null)
                return Refuse(http, metrics, "refused", ErrorPage.Result(http, 404, refusal, "This offer is not available right now."));
            metrics.Click("fallback");
            Found(http, LandingUrl.Expand(offer.FallbackUrl, click));
            return Task.CompletedTask;
        }

        if (HttpMethods.IsHead(http.Request.Method))
        {
            // Where a visit would go, without recording one or setting its cookie (the click id is never stored).
            metrics.Click("head");
            Found(http, Destination(offer, click));
            return Task.CompletedTask;
        }
        return RecordThenRedirectAsync(http, click, offer, recorder.RecordAsync(click,
            caps.CountClick(offer, snapshot.PublisherCaps(offerId, publisherId), publisherId, click.CreatedAt)), metrics);
    }

    private static async Task RecordThenRedirectAsync(HttpContext http, ClickRecord click, OfferConfig offer, Task recorded, TrackerMetrics metrics)
    {
        await recorded;
        try
        {
            metrics.Click("redirect");
            ClickCookie.Set(http, offer.Id, click.ClickId, offer.AttributionWindow);
            Found(http, Destination(offer, click));
        }
        catch (Exception e)
        {
            await ErrorHandling.InternalErrorAsync(http, e);
        }
    }

    private static string Destination(OfferConfig offer, ClickRecord click) =>
        click.DeepLink is null ? LandingUrl.Expand(offer.LandingUrl, click) : LandingUrl.DeepLink(offer, click);

    // 302 with no body, never cached (each visit is a click of its own).
    private static void Found(HttpContext http, string location)
    {
        http.Response.StatusCode = StatusCodes.Status302Found;
        http.Response.Headers.Location = location;
        http.Response.Headers.CacheControl = "no-store";
    }

    private static DateTimeOffset ClickTimestamp(string clickId) =>
        Ulid.TryGetTimestamp(clickId, out var ts) ? ts : throw new InvalidOperationException("Generated an invalid click id");

    // Cleaned of control characters; returns the parameter's name when it is too long.
    private static string? Param(string? raw, string name, out string? value)
    {
        value = raw is null ? null : InputText.Clean(raw);
        return value is { Length: > MaxParamLength } ? name : null;
    }

    private static bool TryId(StringValues v, out long id) =>
        long.TryParse(v.ToString(), System.Globalization.NumberStyles.None, null, out id) && id > 0;

    private static string? Truncate(string s, int max) => s.Length == 0 ? null : InputText.Clean(s.Length <= max ? s : s[..max]);

}
