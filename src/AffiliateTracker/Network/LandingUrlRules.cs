using System.Text;
using AffiliateTracker.Access;
using AffiliateTracker.Http;

namespace AffiliateTracker.Network;

/// What an offer's landing or fallback URL (and a publisher's postback URL) may be, checked when it is saved,
/// and the ASCII form it is stored in. The redirect expands macros only after the host (Clicks/LandingUrl.cs).
public static class LandingUrlRules
{
    public static readonly string[] Macros =
        ["{click_id}", "{offer_id}", "{aff_id}", "{sub1}", "{sub2}", "{sub3}", "{sub4}", "{sub5}", "{source}"];

    /// An accepted URL comes back in the ASCII form redirects send (punycode host, percent-encoded path).
    public static string Validated(string? value, string field)
    {
        if (Problem(value) is { } problem) throw ApiException.Invalid(field, problem);
        var ascii = ToAscii(value!);
        return ascii.Length <= 2000 ? ascii : throw ApiException.Invalid(field, "must be at most 2000 characters once percent-encoded");
    }

    public static string? ValidatedOrNone(string? value, string field) => string.IsNullOrEmpty(value) ? null : Validated(value, field);

    /// Null when the URL is acceptable as an offer's landing or fallback URL; otherwise why not.
    public static string? Problem(string? url)
    {
        if (string.IsNullOrWhiteSpace(url)) return "is required";
        if (url.Length > 2000) return "must be at most 2000 characters";
        // Control characters would reach the Location header (CR/LF) or PostgreSQL (NUL); browsers read a
        // backslash as a slash, so "https:/\{sub1}" would let a visitor's sub-id pick the host.
        if (url.Any(c => char.IsControl(c) || c == '\\')) return "may not contain control characters or backslashes";
        // "scheme://" written out in full: browsers also accept "https:/host" and "https:host", with a host of their own reading.
        if (!url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            return "must be an absolute http or https URL";
        var authority = Authority(url);
        if (authority.Contains('{') || authority.Contains('}')) return "may use macros only after the host";
        // Macros may not stand in the scheme or the host: replace them and look at what is left.
        var probe = url;
        foreach (var m in Macros) probe = probe.Replace(m, "m");
        if (!Uri.TryCreate(probe, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && uri.Scheme != "http") || uri.Host.Length == 0)
            return "must be an absolute http or https URL";
        if (uri.UserInfo.Length > 0 || authority.Contains('@')) return "may not contain user credentials";
        // The host a browser will use is the one written between "//" and the path: no parser may read it otherwise.
        var host = authority.StartsWith('[') ? authority[..(authority.IndexOf(']') + 1)]
            : authority.LastIndexOf(':') is var colon and >= 0 ? authority[..colon] : authority;
        if (!host.Equals(uri.Host, StringComparison.OrdinalIgnoreCase)) return "must be an absolute http or https URL";
        return HostProblem(host, uri);
    }

    /// An internationalised host is stored in punycode, and what a browser makes of some characters is not what the
    /// admin saw: an ideographic or full-width dot (U+3002, U+FF0E, U+FF61) separates labels, so
    /// "good.example。evil.com" is the host good.example.evil.com, and full-width letters stand for ASCII ones. Such a
    /// host is refused, with what it would have become, so what is saved is what the admin typed.
    private static string? HostProblem(string host, Uri uri)
    {
        if (!host.Any(c => c > '~') || host.StartsWith('[')) return null;
        var read = new StringBuilder(host.Length);
        foreach (var c in host)
            read.Append(c is '\u3002' or '\uFF0E' or '\uFF61' ? '.' : c is >= '\uFF01' and <= '\uFF5E' ? (char)(c - 0xFEE0) : c);
        var seen = read.ToString().ToLowerInvariant();
        return seen != host.ToLowerInvariant() || uri.IdnHost.Count(c => c == '.') != host.Count(c => c == '.')
            ? $"has a host that browsers read as '{seen}'; write the host with plain dots and letters"
            : null;
    }

    /// The URL as a Location header can carry it (ASCII only, or Kestrel refuses the header and the visitor gets
    /// a 500): the host in punycode, every other character that is not printable ASCII percent-encoded as UTF-8.
    /// Macros are ASCII and stay as they are. Accepted URLs are stored in this form.
    public static string ToAscii(string url)
    {
        if (!url.Any(c => c <= ' ' || c > '~')) return url;
        var start = url.IndexOf("://", StringComparison.Ordinal);
        if (start < 0) return url;
        start += 3;
        var end = url.IndexOfAny(['/', '?', '#'], start);
        if (end < 0) end = url.Length;
        var authority = url[start..end];
        if (authority.Any(c => c > '~') && Uri.TryCreate(url[..end] + "/", UriKind.Absolute, out var uri))
            authority = uri.IdnHost + (uri.IsDefaultPort ? "" : ":" + uri.Port);
        var sb = new StringBuilder(url.Length + 32).Append(url, 0, start).Append(authority);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = end; i < url.Length; i++)
        {
            var c = url[i];
            if (c is > ' ' and <= '~') { sb.Append(c); continue; }
            var pair = char.IsHighSurrogate(c) && i + 1 < url.Length && char.IsLowSurrogate(url[i + 1]);
            var n = Encoding.UTF8.GetBytes(url.AsSpan(i, pair ? 2 : 1), utf8);
            if (pair) i++;
            foreach (var b in utf8[..n]) sb.Append('%').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }

    // Between "//" and the first '/', '?' or '#'.
    private static string Authority(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var end = url.IndexOfAny(['/', '?', '#'], start);
        return end < 0 ? url[start..] : url[start..end];
    }
}
