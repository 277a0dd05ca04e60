using AffiliateTracker.Storage;
namespace AffiliateTracker.Clicks;

/// The first-party click cookie, one per offer ("atc_{offer_id}"), so a newer click on the same offer
/// replaces it (last click wins) and the pixel can find the click for the offer it reports.
public static class ClickCookie
{
    public static string Name(long offerId) => ClickEndpoints.CookiePrefix + offerId;

    // Written as the header string itself (the same text Response.Cookies.Append produces for these options:
    // HttpOnly, SameSite=Lax, Path=/, Max-Age, Secure over HTTPS): a third of the cost on every redirect. The
    // click id is a ULID (base32), so it needs no encoding.
    public static void Set(HttpContext http, long offerId, string clickId, TimeSpan lifetime) =>
        http.Response.Headers.Append(Microsoft.Net.Http.Headers.HeaderNames.SetCookie, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{ClickEndpoints.CookiePrefix}{offerId}={clickId}; max-age={(long)lifetime.TotalSeconds}; path=/{(http.Request.IsHttps ? "; secure" : "")}; samesite=lax; httponly"));

    public static string? Read(HttpContext http, long offerId) =>
        http.Request.Cookies.TryGetValue(Name(offerId), out var v) && Ulid.IsValid(v) ? v : null;
}
