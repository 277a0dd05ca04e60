using System.Text;

namespace AffiliateTracker.Clicks;

/// Expands the macros of an offer's landing (or fallback) URL. Every value is URL-encoded, and offers
/// may use macros only after the host (checked when the offer is saved), so no value a visitor or
/// publisher sends can change where the redirect goes.
public static class LandingUrl
{
    public static readonly string[] Macros =
        ["{click_id}", "{offer_id}", "{aff_id}", "{sub1}", "{sub2}", "{sub3}", "{sub4}", "{sub5}", "{source}"];

    public static string Expand(string template, ClickRecord click)
    {
        if (template.IndexOf('{') < 0) return template;
        var sb = new StringBuilder(template.Length + 64);
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            if (open < 0) { sb.Append(template, i, template.Length - i); break; }
            sb.Append(template, i, open - i);
            var close = template.IndexOf('}', open);
            if (close < 0) { sb.Append(template, open, template.Length - open); break; }
            var value = Resolve(template.AsSpan(open + 1, close - open - 1), click, out var known);
            if (known) sb.Append(Uri.EscapeDataString(value ?? ""));
            else sb.Append(template, open, close - open + 1); // not ours: leave it as the advertiser wrote it
            i = close + 1;
        }
        return sb.ToString();
    }

    private static string? Resolve(ReadOnlySpan<char> name, ClickRecord c, out bool known)
    {
        known = true;
        switch (name)
        {
            case "click_id": return c.ClickId;
            case "offer_id": return c.OfferId.ToString();
            case "aff_id": return c.PublisherId.ToString();
            case "sub1": return c.Sub1;
            case "sub2": return c.Sub2;
            case "sub3": return c.Sub3;
            case "sub4": return c.Sub4;
            case "sub5": return c.Sub5;
            case "source": return c.Source;
            default: known = false; return null;
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
