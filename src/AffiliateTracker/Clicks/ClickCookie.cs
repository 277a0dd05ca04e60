using AffiliateTracker.Storage;
namespace AffiliateTracker.Clicks;

/// The first-party click cookie, one per offer ("atc_{offer_id}"), so a newer click on the same offer
/// replaces it (last click wins) and the pixel can find the click for the offer it reports.
public static class ClickCookie
{
    public static string Name(long offerId) => ClickEndpoints.CookiePrefix + offerId;

    public static void Set(HttpContext http, long offerId, string clickId, TimeSpan lifetime) =>
        http.Response.Cookies.Append(Name(offerId), clickId, new CookieOptions
        {
            HttpOnly = true,
            Secure = http.Request.IsHttps,
            SameSite = SameSiteMode.Lax,
            Path = "/",
            MaxAge = lifetime,
            IsEssential = true,
        });

    public static string? Read(HttpContext http, long offerId) =>
        http.Request.Cookies.TryGetValue(Name(offerId), out var v) && Ulid.IsValid(v) ? v : null;
}
