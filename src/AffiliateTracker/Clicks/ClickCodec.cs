using System.Buffers.Binary;
using System.Text;

namespace AffiliateTracker.Clicks;

/// Compact, self-delimiting binary form of a click: a version byte, fixed-width numbers, then
/// length-prefixed UTF-8 strings. Used both for the attribution record in Redis (Compact: without
/// user agent and referrer, which attribution never reads) and inside stream batches (Full).
/// Records concatenate: a stream entry holds a whole group-commit batch. Version 2 added the deep link and the
/// smart link, version 3 the click's cost (full records only); older records, still in a stream at an upgrade,
/// read as before.
public static class ClickCodec
{
    private const byte Version = 3;
    private const byte FlagBot = 1, FlagHasLink = 2, FlagCompact = 4, FlagDeepLinkRefused = 8, FlagSmart = 16, FlagCost = 32;

    public static byte[] Encode(ClickRecord c, bool compact = false)
    {
        var buffer = new byte[Size(c, compact)];
        Write(c, compact, buffer);
        return buffer;
    }

    /// Concatenates full records, each self-delimiting, into one stream payload.
    public static byte[] EncodeBatch(IReadOnlyList<ClickRecord> clicks)
    {
        var total = 0;
        foreach (var c in clicks) total += Size(c, false);
        var buffer = new byte[total];
        var offset = 0;
        foreach (var c in clicks) offset += Write(c, false, buffer.AsSpan(offset));
        return buffer;
    }

    /// What the flusher adds to a click as it reads it: the country (when the redirect did not need it) and the
    /// traffic details. Filled in while decoding, so no record is copied to add them.
    public delegate (string? Country, TrafficDetails? Traffic) Details(string? ip, string? userAgent, string? country, bool isBot);

    public static List<ClickRecord> DecodeBatch(ReadOnlySpan<byte> data, Details? details = null)
    {
        var list = new List<ClickRecord>();
        while (!data.IsEmpty)
        {
            list.Add(Decode(data, out var used, details));
            data = data[used..];
        }
        return list;
    }

    public static ClickRecord Decode(ReadOnlySpan<byte> data) => Decode(data, out _);

    public static ClickRecord Decode(ReadOnlySpan<byte> data, out int bytesRead, Details? details = null)
    {
        var r = new Reader(data);
        var version = r.Byte();
        if (version is not (1 or 2 or Version)) throw new FormatException("Unknown click record version");
        var flags = r.Byte();
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(r.Int64());
        var offerId = r.Int64();
        var publisherId = r.Int64();
        long? linkId = (flags & FlagHasLink) != 0 ? r.Int64() : null;
        var clickId = r.String()!;
        var sub1 = r.String(); var sub2 = r.String(); var sub3 = r.String(); var sub4 = r.String(); var sub5 = r.String();
        var source = r.String(); var ip = r.String(); var country = r.String();
        string? ua = null, referrer = null, deepLink = null;
        long? smartLink = null;
        int? smartRule = null;
        decimal? cost = null;
        if ((flags & FlagCompact) == 0)
        {
            ua = r.String(); referrer = r.String();
            if (version >= 2)
            {
                deepLink = r.String();
                if ((flags & FlagSmart) != 0) { smartLink = r.Int64(); smartRule = r.Byte(); }
            }
            if (version >= 3 && (flags & FlagCost) != 0) cost = r.Decimal();
        }
        bytesRead = r.Position;
        var bot = (flags & FlagBot) != 0;
        TrafficDetails? traffic = null;
        if (details is not null) (country, traffic) = details(ip, ua, country, bot);
        return new ClickRecord(clickId, createdAt, offerId, publisherId, linkId, sub1, sub2, sub3, sub4, sub5,
            source, ip, ua, referrer, country, bot)
        {
            DeepLink = deepLink, DeepLinkRefused = (flags & FlagDeepLinkRefused) != 0, SmartLinkId = smartLink, SmartRule = smartRule, Cost = cost,
            Traffic = traffic,
        };
    }

    private static int Size(ClickRecord c, bool compact)
    {
        var size = 2 + 8 * 3 + (c.LinkId.HasValue ? 8 : 0);
        size += StrSize(c.ClickId) + StrSize(c.Sub1) + StrSize(c.Sub2) + StrSize(c.Sub3) + StrSize(c.Sub4) + StrSize(c.Sub5)
              + StrSize(c.Source) + StrSize(c.Ip) + StrSize(c.Country);
        if (!compact) size += StrSize(c.UserAgent) + StrSize(c.Referrer) + StrSize(c.DeepLink) + (Smart(c) ? 9 : 0) + (c.Cost.HasValue ? 16 : 0);
        return size;
    }

    private static int Write(ClickRecord c, bool compact, Span<byte> dest)
    {
        var w = new Writer(dest);
        w.Byte(Version);
        w.Byte((byte)((c.IsBot ? FlagBot : 0) | (c.LinkId.HasValue ? FlagHasLink : 0) | (compact ? FlagCompact : 0)
            | (c.DeepLinkRefused ? FlagDeepLinkRefused : 0) | (!compact && Smart(c) ? FlagSmart : 0) | (!compact && c.Cost.HasValue ? FlagCost : 0)));
        w.Int64(c.CreatedAt.ToUnixTimeMilliseconds());
        w.Int64(c.OfferId);
        w.Int64(c.PublisherId);
        if (c.LinkId is { } link) w.Int64(link);
        w.String(c.ClickId);
        w.String(c.Sub1); w.String(c.Sub2); w.String(c.Sub3); w.String(c.Sub4); w.String(c.Sub5);
        w.String(c.Source); w.String(c.Ip); w.String(c.Country);
        if (!compact)
        {
            w.String(c.UserAgent); w.String(c.Referrer); w.String(c.DeepLink);
            if (Smart(c)) { w.Int64(c.SmartLinkId!.Value); w.Byte((byte)c.SmartRule!.Value); }
            if (c.Cost is { } cost) w.Decimal(cost);
        }
        return w.Position;
    }

    private static bool Smart(ClickRecord c) => c.SmartLinkId.HasValue && c.SmartRule.HasValue;

    // A string is a varint of (UTF-8 length + 1), 0 meaning null, then the bytes.
    private static int StrSize(string? s)
    {
        if (s is null) return 1;
        var n = Encoding.UTF8.GetByteCount(s);
        return VarIntSize((uint)n + 1) + n;
    }

    private static int VarIntSize(uint v) { var n = 1; while (v >= 0x80) { v >>= 7; n++; } return n; }

    private ref struct Writer(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        public int Position;
        public void Byte(byte b) => _buffer[Position++] = b;
        public void Int64(long v) { BinaryPrimitives.WriteInt64LittleEndian(_buffer[Position..], v); Position += 8; }
        public void VarInt(uint v) { while (v >= 0x80) { Byte((byte)(v | 0x80)); v >>= 7; } Byte((byte)v); }
        public void Decimal(decimal v)
        {
            Span<int> bits = stackalloc int[4];
            decimal.GetBits(v, bits);
            for (var i = 0; i < 4; i++) BinaryPrimitives.WriteInt32LittleEndian(_buffer[(Position + 4 * i)..], bits[i]);
            Position += 16;
        }
        public void String(string? s)
        {
            if (s is null) { Byte(0); return; }
            var n = Encoding.UTF8.GetByteCount(s);
            VarInt((uint)n + 1);
            Position += Encoding.UTF8.GetBytes(s, _buffer[Position..]);
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public int Position;
        public byte Byte() => _data[Position++];
        public long Int64() { var v = BinaryPrimitives.ReadInt64LittleEndian(_data[Position..]); Position += 8; return v; }
        public decimal Decimal()
        {
            Span<int> bits = stackalloc int[4];
            for (var i = 0; i < 4; i++) bits[i] = BinaryPrimitives.ReadInt32LittleEndian(_data[(Position + 4 * i)..]);
            Position += 16;
            return new decimal(bits);
        }
        public uint VarInt()
        {
            uint v = 0; var shift = 0;
            while (true)
            {
                var b = Byte();
                v |= (uint)(b & 0x7F) << shift;
                if (b < 0x80) return v;
                shift += 7;
                if (shift > 28) throw new FormatException("Malformed length in click record");
            }
        }
        public string? String()
        {
            var n = VarInt();
            if (n == 0) return null;
            var s = Encoding.UTF8.GetString(_data.Slice(Position, (int)n - 1));
            Position += (int)n - 1;
            return s;
        }
    }
}
