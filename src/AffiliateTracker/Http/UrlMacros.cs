using System.Buffers;

namespace AffiliateTracker.Http;

/// Expands {name} macros in a URL template with URL-encoded values. Names the resolver does not know
/// are left exactly as written (they may belong to the destination's own template language).
public static class UrlMacros
{
    public delegate bool Resolver<in TState>(ReadOnlySpan<char> name, TState state, out string? value);

    public static string Expand<TState>(string template, TState state, Resolver<TState> resolve)
    {
        if (template.IndexOf('{') < 0) return template;
        // Built in a pooled buffer: every redirect expands its landing URL, and a StringBuilder's chunk was
        // garbage of its own on each one.
        var buffer = ArrayPool<char>.Shared.Rent(template.Length + 256);
        var length = 0;
        try
        {
            var i = 0;
            while (i < template.Length)
            {
                var open = template.IndexOf('{', i);
                if (open < 0) { Append(ref buffer, ref length, template.AsSpan(i)); break; }
                Append(ref buffer, ref length, template.AsSpan(i, open - i));
                var close = template.IndexOf('}', open);
                if (close < 0) { Append(ref buffer, ref length, template.AsSpan(open)); break; }
                if (resolve(template.AsSpan(open + 1, close - open - 1), state, out var value)) Append(ref buffer, ref length, Uri.EscapeDataString(value ?? ""));
                else Append(ref buffer, ref length, template.AsSpan(open, close - open + 1));
                i = close + 1;
            }
            return new string(buffer, 0, length);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private static void Append(ref char[] buffer, ref int length, ReadOnlySpan<char> text)
    {
        if (length + text.Length > buffer.Length)
        {
            var bigger = ArrayPool<char>.Shared.Rent(Math.Max(buffer.Length * 2, length + text.Length));
            buffer.AsSpan(0, length).CopyTo(bigger);
            ArrayPool<char>.Shared.Return(buffer);
            buffer = bigger;
        }
        text.CopyTo(buffer.AsSpan(length));
        length += text.Length;
    }
}
