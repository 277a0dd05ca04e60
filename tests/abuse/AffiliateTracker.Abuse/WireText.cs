using System.Text;

namespace AffiliateTracker.Abuse;

/// How a value is written into a request target: the ways real clients (and attackers) encode text.
public enum WireEncoding
{
    /// RFC 3986 percent-encoding of UTF-8 (a lone surrogate becomes its 3-byte form, ED A0 80, as a buggy client sends it).
    Percent,
    /// Raw UTF-8 bytes in the request line (only space, '#', '&', '=', CR and LF escaped).
    Raw,
    /// Overlong UTF-8 for ASCII punctuation ('/' as %C0%AF), the classic filter bypass.
    Overlong,
    /// Percent-encoding with a broken escape appended ("%", "%z", "%G1", "%u002F", a truncated sequence).
    BrokenEscape,
    /// Percent-encoded twice ("/" as %252F).
    Double,
    /// '+' for spaces, everything else percent-encoded.
    Plus,
}

public static class WireText
{
    private static readonly string[] BrokenTails = ["%", "%z", "%G1", "%%", "%u002F", "%E0%A4", "%C3", "%ED%A0%80", "%F8%88%80%80%80", "%FF%FE"];

    /// The bytes of s in generalised UTF-8: valid pairs as 4 bytes, lone surrogates as 3 bytes (WTF-8).
    public static byte[] Utf8(string s)
    {
        var bytes = new List<byte>(s.Length + 8);
        for (var i = 0; i < s.Length; i++)
        {
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) cp = char.ConvertToUtf32(s[i], s[++i]);
            if (cp < 0x80) bytes.Add((byte)cp);
            else if (cp < 0x800) { bytes.Add((byte)(0xC0 | cp >> 6)); bytes.Add((byte)(0x80 | cp & 0x3F)); }
            else if (cp < 0x10000) { bytes.Add((byte)(0xE0 | cp >> 12)); bytes.Add((byte)(0x80 | cp >> 6 & 0x3F)); bytes.Add((byte)(0x80 | cp & 0x3F)); }
            else
            {
                bytes.Add((byte)(0xF0 | cp >> 18)); bytes.Add((byte)(0x80 | cp >> 12 & 0x3F));
                bytes.Add((byte)(0x80 | cp >> 6 & 0x3F)); bytes.Add((byte)(0x80 | cp & 0x3F));
            }
        }
        return [.. bytes];
    }

    private static bool Unreserved(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';

    /// The value as it appears in a query string or path segment; the result is a byte string (Latin-1 chars = bytes).
    public static string Encode(string value, WireEncoding encoding, Random rng)
    {
        var sb = new StringBuilder(value.Length * 3);
        var bytes = Utf8(value);
        switch (encoding)
        {
            case WireEncoding.Raw:
                foreach (var b in bytes)
                    if (b is (byte)' ' or (byte)'#' or (byte)'&' or (byte)'=' or (byte)'\r' or (byte)'\n' or (byte)'%') sb.Append('%').Append(b.ToString("X2"));
                    else sb.Append((char)b);
                break;
            case WireEncoding.Overlong:
                foreach (var b in bytes)
                    if (b is (byte)'/' or (byte)'.' or (byte)'<' or (byte)'>' or (byte)'\'' or (byte)'"' or (byte)'\\' or (byte)':' or (byte)'@')
                        sb.Append("%C0%").Append((0x80 | b & 0x3F).ToString("X2"));
                    else if (Unreserved(b)) sb.Append((char)b);
                    else sb.Append('%').Append(b.ToString("X2"));
                break;
            case WireEncoding.Double:
                foreach (var b in bytes)
                    if (Unreserved(b)) sb.Append((char)b); else sb.Append("%25").Append(b.ToString("X2"));
                break;
            case WireEncoding.Plus:
                foreach (var b in bytes)
                    if (b == ' ') sb.Append('+'); else if (Unreserved(b)) sb.Append((char)b); else sb.Append('%').Append(b.ToString("X2"));
                break;
            default:
                foreach (var b in bytes)
                    if (Unreserved(b)) sb.Append((char)b); else sb.Append('%').Append(b.ToString("X2"));
                if (encoding == WireEncoding.BrokenEscape) sb.Insert(rng.Next(sb.Length + 1), BrokenTails[rng.Next(BrokenTails.Length)]);
                break;
        }
        return sb.ToString();
    }

    /// Percent-encoding, the polite way (used where the value itself is the attack, not its encoding).
    public static string Escape(string value) => Encode(value, WireEncoding.Percent, Random.Shared);

    /// A byte string (chars 0-255) to bytes.
    public static byte[] Latin1(string s) => System.Text.Encoding.Latin1.GetBytes(s);

    /// JSON string literal of s, with lone surrogates written as \uXXXX escapes (System.Text.Json refuses to).
    public static string JsonString(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            if (c == '"') sb.Append("\\\"");
            else if (c == '\\') sb.Append("\\\\");
            else if (c < 0x20 || char.IsSurrogate(c) || c == '\u2028' || c == '\u2029') sb.Append("\\u").Append(((int)c).ToString("x4"));
            else sb.Append(c);
        }
        return sb.Append('"').ToString();
    }
}
