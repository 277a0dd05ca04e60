using System.Text;

namespace AffiliateTracker.Abuse;

/// The random source for one request, with the small choices every generator makes. Seeded from
/// (run seed, request index) alone, so request N is the same whatever order or concurrency ran it.
public sealed class Fuzz(int seed, int index)
{
    public Random Rng { get; } = new(Mix(seed, index));
    /// Set when something was written that a strict parser may refuse (raw bytes, broken escapes, stray separators).
    public bool Dirty { get; set; }

    private static int Mix(int seed, int index)
    {
        // splitmix64: neighbouring indexes get unrelated seeds.
        var z = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL + (ulong)(uint)index + 0x632BE59BD9B4E019UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    public bool Chance(double p) => Rng.NextDouble() < p;
    public int Next(int max) => Rng.Next(max);
    public int Next(int min, int max) => Rng.Next(min, max);
    public T Pick<T>(IReadOnlyList<T> items) => items[Rng.Next(items.Count)];

    /// One of several outcomes by weight: Weighted((3, "a"), (1, "b")).
    public T Weighted<T>(params (double Weight, T Value)[] choices)
    {
        var roll = Rng.NextDouble() * choices.Sum(c => c.Weight);
        foreach (var (w, v) in choices)
        {
            if (roll < w) return v;
            roll -= w;
        }
        return choices[^1].Value;
    }

    public WireEncoding Encoding() => Weighted(
        (70, WireEncoding.Percent), (8, WireEncoding.Raw), (6, WireEncoding.Overlong), (8, WireEncoding.BrokenEscape),
        (4, WireEncoding.Double), (4, WireEncoding.Plus));

    /// A hostile string: a payload, or something long (up to and past the 255-character limits).
    public string Nasty()
    {
        if (Chance(0.8)) return Pick(Payloads.Strings);
        var length = Pick(new[] { 254, 255, 256, 300, 1000, 3000 });
        var unit = Pick(new[] { "a", "é", "😀", "%", "'", "\u0000", "\uD800" });
        var sb = new StringBuilder(length * 2);
        while (sb.Length < length) sb.Append(unit);
        return sb.ToString(0, length);
    }

    public string Word() => Pick(new[] { "spring-post", "fb_ad_12", "banner-300x250", "newsletter", "tiktok", "x", "campaign-2026", "abc123" });

    /// A string in click id shape (26 Crockford base32 characters) that no click has.
    public string UnknownUlid()
    {
        const string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        var chars = new char[26];
        chars[0] = alphabet[Rng.Next(8)];
        for (var i = 1; i < 26; i++) chars[i] = alphabet[Rng.Next(32)];
        return new string(chars);
    }

    /// An id that is sure not to exist: far above any sequence, well inside a bigint.
    public long NoSuchId() => 9_000_000_000_000_000L + Rng.NextInt64(1_000_000_000_000L);

    public string Amount() => Chance(0.75)
        ? Weighted(
            (80, () => (Rng.Next(0, 500_000) / 100m).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            (5, () => "0"), (5, () => "0.0001"), (3, () => "999999999999.9999"), (3, () => "1000000000000"), (4, () => Rng.Next(1, 100).ToString()))()
        : Pick(Payloads.Amounts);

    /// A query string from (name, value) pairs, each value written with its own encoding.
    public string Query(IEnumerable<(string Name, string Value)> parameters)
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (sb.Length > 0) sb.Append(Chance(0.02) ? Pick(new[] { "&&", ";", "&amp;" }) : "&");
            var encoding = Encoding();
            if (encoding is not (WireEncoding.Percent or WireEncoding.Plus or WireEncoding.Double)) Dirty = true;
            sb.Append(WireText.Encode(name, encoding == WireEncoding.Raw ? WireEncoding.Raw : WireEncoding.Percent, Rng));
            if (Chance(0.01)) continue; // a name without '='
            sb.Append('=').Append(WireText.Encode(value, encoding, Rng));
        }
        if (Chance(0.02)) { sb.Append(Pick(new[] { "&", "&=", "=&=", "&&&", "#frag", "%", "?" })); Dirty = true; }
        return sb.ToString();
    }
}
