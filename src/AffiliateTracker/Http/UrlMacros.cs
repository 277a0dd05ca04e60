using System.Text;

namespace AffiliateTracker.Http;

/// Expands {name} macros in a URL template with URL-encoded values. Names the resolver does not know
/// are left exactly as written (they may belong to the destination's own template language).
public static class UrlMacros
{
    public delegate bool Resolver<in TState>(ReadOnlySpan<char> name, TState state, out string? value);

    public static string Expand<TState>(string template, TState state, Resolver<TState> resolve)
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
            if (resolve(template.AsSpan(open + 1, close - open - 1), state, out var value)) sb.Append(Uri.EscapeDataString(value ?? ""));
            else sb.Append(template, open, close - open + 1);
            i = close + 1;
        }
        return sb.ToString();
    }
}
