using AffiliateTracker.Access;
using AffiliateTracker.Http;

namespace AffiliateTracker.Network;

/// Where a deep link may send a visitor: only to hosts the offer lists ('shop.example' exactly, '*.shop.example'
/// for it and its subdomains). The URL a visitor or publisher passes in `url=` is read the strict way, so that
/// no parser (ours, .NET's, a browser's) can see a different host: printable ASCII only, http(s) written out
/// in full, no credentials, no percent-encoding or backslashes in the authority.
public static class DeepLinkRules
{
    public const int MaxUrlLength = 2000;

    /// The host `url` goes to when it is one the offer lists; null (refused) otherwise.
    public static string? AllowedHost(string url, IReadOnlyList<string> domains)
    {
        if (domains.Count == 0 || url.Length is 0 or > MaxUrlLength) return null;
        int start;
        if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) start = 8;
        else if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) start = 7;
        else return null;
        // Spaces, control characters and anything past '~' anywhere; a backslash anywhere (browsers read it as '/').
        foreach (var c in url)
            if (c is <= ' ' or > '~' or '\\') return null;
        var end = url.AsSpan(start).IndexOfAny('/', '?', '#');
        var authority = end < 0 ? url.AsSpan(start) : url.AsSpan(start, end);
        var colon = authority.IndexOf(':');
        var hostSpan = colon < 0 ? authority : authority[..colon];
        if (colon >= 0 && (colon == authority.Length - 1 || !IsDigits(authority[(colon + 1)..]))) return null;
        if (!IsHostName(hostSpan)) return null;
        var host = hostSpan.ToString().ToLowerInvariant();
        // .NET's reading must agree with ours, or one of them is being fooled.
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0
            || !string.Equals(uri.Host, host, StringComparison.OrdinalIgnoreCase)) return null;
        return Matches(host, domains) ? host : null;
    }

    public static bool Matches(string host, IReadOnlyList<string> domains)
    {
        foreach (var d in domains)
        {
            if (d.StartsWith("*.", StringComparison.Ordinal))
            {
                var root = d.AsSpan(2);
                if (host.AsSpan().SequenceEqual(root)
                    || (host.Length > root.Length + 1 && host.AsSpan().EndsWith(root) && host[host.Length - root.Length - 1] == '.')) return true;
            }
            else if (host == d) return true;
        }
        return false;
    }

    /// The domain list as stored: lower case, each a host name or '*.' and a host name, at most 50.
    public static string[] ValidatedDomains(string[]? domains, string field = "deep_link_domains")
    {
        if (domains is null) return [];
        if (domains.Length > 50) throw ApiException.Invalid(field, "may list at most 50 domains");
        var result = new List<string>();
        for (var i = 0; i < domains.Length; i++)
        {
            var d = (domains[i] ?? "").Trim().ToLowerInvariant();
            var host = d.StartsWith("*.", StringComparison.Ordinal) ? d[2..] : d;
            if (!IsHostName(host) || !host.Contains('.'))
                throw ApiException.Invalid($"{field}[{i}]", "must be a host name such as shop.example, or *.shop.example for it and its subdomains (internationalised names in punycode)");
            if (!result.Contains(d)) result.Add(d);
        }
        return result.ToArray();
    }

    /// Either query parameters added to the deep URL ('clickid={click_id}&sub={sub1}', or just a parameter
    /// name, which then carries the click id), or the advertiser's own redirector: an http(s) URL with {url}.
    public static string? ValidatedTemplate(string? template, string field = "deep_link_template")
    {
        if (string.IsNullOrWhiteSpace(template)) return null;
        template = template.Trim();
        if (template.StartsWith("http", StringComparison.OrdinalIgnoreCase))
        {
            if (!template.Contains("{url}")) throw ApiException.Invalid(field, "as a URL must contain {url}, where the deep link goes");
            return LandingUrlRules.Validated(template, field);
        }
        if (template.Length > 500) throw ApiException.Invalid(field, "must be at most 500 characters");
        if (template.Any(c => c is <= ' ' or > '~' or '\\' or '#' or '?' or '/'))
            throw ApiException.Invalid(field, "must be query parameters such as clickid={click_id}, or a URL with {url}");
        return template.Contains('=') ? template.TrimStart('&') : template + "={click_id}";
    }

    private static bool IsDigits(ReadOnlySpan<char> s)
    {
        if (s.Length is 0 or > 5) return false;
        foreach (var c in s) if (c is < '0' or > '9') return false;
        return true;
    }

    // Letters, digits, hyphens and dots; no empty label, no leading or trailing dot; at most 253 characters.
    private static bool IsHostName(ReadOnlySpan<char> host)
    {
        if (host.Length is 0 or > 253 || host[0] == '.' || host[^1] == '.' || host.Contains("..", StringComparison.Ordinal)) return false;
        foreach (var c in host)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.')) return false;
        return true;
    }
}
