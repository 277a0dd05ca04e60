using AffiliateTracker.Storage;

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
        var r = new BinaryRecordReader(data);
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
        var w = new BinaryRecordWriter(dest);
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

    private static int StrSize(string? s) => BinaryRecord.StringSize(s);
}
