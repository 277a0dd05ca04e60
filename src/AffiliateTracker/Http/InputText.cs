using System.Buffers;
using System.Text;

namespace AffiliateTracker.Http;

/// Text from outside (sub-ids, user agents, txids, reasons) is stored in PostgreSQL text and jsonb, which
/// refuse NUL and lone surrogates. Cleaning it at the door keeps one bad request from poisoning a batch.
public static class InputText
{
    private static readonly SearchValues<char> Unsafe = SearchValues.Create(
        Enumerable.Range(0, 0x20).Select(i => (char)i).Append('\u007f')
            .Concat(Enumerable.Range(0xD800, 0x800).Select(i => (char)i)).ToArray());

    /// Control characters removed and lone surrogates replaced by U+FFFD; the common case allocates nothing.
    public static string? Clean(string? s)
    {
        if (s is null || s.AsSpan().IndexOfAny(Unsafe) < 0) return s;
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { sb.Append(c).Append(s[++i]); continue; }
            if (char.IsSurrogate(c)) { sb.Append('\uFFFD'); continue; }
            if (!char.IsControl(c)) sb.Append(c);
        }
        return sb.ToString();
    }
}
