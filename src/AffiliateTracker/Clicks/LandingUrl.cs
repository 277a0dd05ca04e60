using AffiliateTracker.Http;

namespace AffiliateTracker.Clicks;

/// Expands the macros of an offer's landing (or fallback) URL. Every value is URL-encoded, and offers
/// may use macros only after the host (checked when the offer is saved), so no value a visitor or
/// publisher sends can change where the redirect goes.
public static class LandingUrl
{
    public static readonly string[] Macros =
        ["{click_id}", "{offer_id}", "{aff_id}", "{sub1}", "{sub2}", "{sub3}", "{sub4}", "{sub5}", "{source}"];

    public static string Expand(string template, ClickRecord click) => UrlMacros.Expand(template, click, Resolve);

    private static bool Resolve(ReadOnlySpan<char> name, ClickRecord c, out string? value)
    {
        switch (name)
        {
            case "click_id": value = c.ClickId; return true;
            case "offer_id": value = c.OfferId.ToString(); return true;
            case "aff_id": value = c.PublisherId.ToString(); return true;
            case "sub1": value = c.Sub1; return true;
            case "sub2": value = c.Sub2; return true;
            case "sub3": value = c.Sub3; return true;
            case "sub4": value = c.Sub4; return true;
            case "sub5": value = c.Sub5; return true;
            case "source": value = c.Source; return true;
            default: value = null; return false;
        }
    }

    /// Null when the URL is acceptable as an offer's landing or fallback URL; otherwise why not.
    public static string? Problem(string? url)
    {
        if (string.IsNullOrWhiteSpace(url)) return "is required";
        if (url.Length > 2000) return "must be at most 2000 characters";
        // Macros may not stand in the scheme or the host: replace them and look at what is left.
        var probe = url;
        foreach (var m in Macros) probe = probe.Replace(m, "m");
        if (!Uri.TryCreate(probe, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && uri.Scheme != "http"))
            return "must be an absolute http or https URL";
        var authorityEnd = url.IndexOf('/', url.IndexOf("://", StringComparison.Ordinal) + 3);
        var authority = authorityEnd < 0 ? url : url[..authorityEnd];
        if (authority.Contains('{') || authority.Contains('}')) return "may use macros only after the host";
        if (uri.UserInfo.Length > 0) return "may not contain user credentials";
        return null;
    }
}
