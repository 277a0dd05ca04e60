namespace AffiliateTracker.Storage;

/// Ids of events (postback log entries, conversion events, publisher postbacks) that PostgreSQL keeps in a unique
/// index. Time-ordered (UUID version 7, RFC 9562): a new id lands at the index's right edge, where a random one
/// would dirty a random page of a large index on every insert.
public static class EventIds
{
    public static Guid New(DateTimeOffset at)
    {
        // 48 bits of Unix milliseconds, the version, 74 random bits and the variant: what Guid.CreateVersion7 makes,
        // with the random bits from RandomBytes instead of a read of /dev/urandom per id.
        Span<byte> bytes = stackalloc byte[16];
        var ms = at.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--) { bytes[i] = (byte)ms; ms >>= 8; }
        RandomBytes.Fill(bytes[6..]);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }
}
