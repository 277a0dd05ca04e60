namespace AffiliateTracker.Storage;

/// Click and conversion ids: 26 characters of Crockford base32 (ULID layout), 48 bits of Unix
/// milliseconds then 80 random bits. They sort by time, are unguessable, can be made on any instance
/// without coordination, and carry their own timestamp, so a lookup in the time-partitioned clicks
/// table can name the partition without a global index.
public static class Ulid
{
    public const int Length = 26;
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New(DateTimeOffset now)
    {
        Span<byte> bytes = stackalloc byte[16];
        var ms = now.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--) { bytes[i] = (byte)ms; ms >>= 8; }
        RandomBytes.Fill(bytes[6..]);
        return string.Create(Length, UInt128FromBytes(bytes), static (chars, value) =>
        {
            for (var i = Length - 1; i >= 0; i--)
            {
                chars[i] = Alphabet[(int)(value & 31)];
                value >>= 5;
            }
        });
    }

    /// Parses the timestamp out of a well-formed id; false for anything else (never throws on input).
    public static bool TryGetTimestamp(ReadOnlySpan<char> id, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (id.Length != Length) return false;
        UInt128 value = 0;
        foreach (var c in id)
        {
            var digit = Alphabet.IndexOf(char.ToUpperInvariant(c));
            if (digit < 0) return false;
            value = (value << 5) | (uint)digit;
        }
        if (id[0] > '7') return false; // more than 128 bits
        var ms = (long)(value >> 80);
        if (ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()) return false;
        timestamp = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return true;
    }

    public static bool IsValid(ReadOnlySpan<char> id) => TryGetTimestamp(id, out _);

    private static UInt128 UInt128FromBytes(ReadOnlySpan<byte> b)
    {
        UInt128 v = 0;
        foreach (var x in b) v = (v << 8) | x;
        return v;
    }
}
