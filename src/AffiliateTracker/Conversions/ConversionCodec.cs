using AffiliateTracker.Storage;

namespace AffiliateTracker.Conversions;

/// The binary form of a new conversion in its stream (the "c" event): less than half of its JSON, which Redis
/// copies into the stream and the flusher parses again. Entries written as JSON before this form existed,
/// still in a stream at an upgrade, read as before, as do version 1 records (written before a conversion carried its
/// postback's address and parameters). Status changes and confirmations stay JSON: they are rare.
public static class ConversionCodec
{
    private const byte Version = 2;
    private const byte HasAmount = 1, HasOriginalAmount = 2, AwaitingConfirmation = 4;

    public static byte[] Encode(ConversionCreated c)
    {
        var size = 2 + 16 + 8 * 3 + 8 * 4 + 16 * 2 + (c.Amount.HasValue ? 16 : 0) + (c.OriginalAmount.HasValue ? 16 : 0)
            + S(c.Id) + S(c.ClickId) + S(c.Goal) + S(c.Txid) + S(c.DedupeKey) + S(c.Status) + S(c.Currency) + S(c.OriginalCurrency)
            + S(c.Sub1) + S(c.Sub2) + S(c.Sub3) + S(c.Sub4) + S(c.Sub5) + S(c.Source) + S(c.ClickIp) + S(c.Country)
            + BinaryRecord.VarIntSize((uint)c.Flags.Length) + c.Flags.Sum(S) + S(c.Via) + S(c.Actor) + S(c.Reason)
            + S(c.PostbackIp) + S(c.PostbackQuery);
        var buffer = new byte[size];
        var w = new BinaryRecordWriter(buffer);
        w.Byte(Version);
        w.Byte((byte)((c.Amount.HasValue ? HasAmount : 0) | (c.OriginalAmount.HasValue ? HasOriginalAmount : 0)
            | (c.AwaitingConfirmation ? AwaitingConfirmation : 0)));
        w.Guid(c.EventId);
        w.String(c.Id); w.String(c.ClickId); w.Time(c.ClickCreatedAt);
        w.Int64(c.OfferId); w.Int64(c.AdvertiserId); w.Int64(c.PublisherId);
        w.String(c.Goal); w.String(c.Txid); w.String(c.DedupeKey); w.String(c.Status);
        if (c.Amount is { } amount) w.Decimal(amount);
        w.String(c.Currency);
        if (c.OriginalAmount is { } original) w.Decimal(original);
        w.String(c.OriginalCurrency);
        w.Decimal(c.Payout); w.Decimal(c.Revenue);
        w.String(c.Sub1); w.String(c.Sub2); w.String(c.Sub3); w.String(c.Sub4); w.String(c.Sub5);
        w.String(c.Source); w.String(c.ClickIp); w.String(c.Country);
        w.VarInt((uint)c.Flags.Length);
        foreach (var f in c.Flags) w.String(f);
        w.String(c.Via); w.Time(c.CreatedAt); w.Time(c.HoldUntil); w.Time(c.StatusChangedAt);
        w.String(c.Actor); w.String(c.Reason);
        w.String(c.PostbackIp); w.String(c.PostbackQuery);
        return buffer;

        static int S(string? s) => BinaryRecord.StringSize(s);
    }

    /// A "c" event: one conversion, binary or (written before the binary form, or with Conversions:BinaryStreams off) JSON.
    public static ConversionCreated Decode(byte[] data) =>
        data.Length > 0 && data[0] == (byte)'{' ? ConversionJson.Deserialize<ConversionCreated>(data) : DecodeBinary(data);

    /// A "cb" event: the conversions one creation script call made in a shard, in the order it made them, each with
    /// the flags Redis counted for it. Written by the script (ConversionRecorder), so the framing is what Lua's
    /// struct.pack writes: per conversion a 32-bit little-endian length and the flags, then a length and the record.
    public static List<(ConversionCreated Conversion, string Flags)> DecodeBatch(byte[] data)
    {
        var list = new List<(ConversionCreated, string)>();
        var r = new BinaryRecordReader(data);
        while (!r.AtEnd)
        {
            var flags = System.Text.Encoding.UTF8.GetString(r.Bytes(Length(ref r)));
            list.Add((DecodeBinary(r.Bytes(Length(ref r))), flags));
        }
        return list;

        static int Length(ref BinaryRecordReader r) => r.Int32() is >= 0 and var n ? n : throw new FormatException("Negative length in a conversion batch");
    }

    private static ConversionCreated DecodeBinary(ReadOnlySpan<byte> data)
    {
        var r = new BinaryRecordReader(data);
        var version = r.Byte();
        if (version is not (1 or Version)) throw new FormatException("Unknown conversion event version");
        var flags = r.Byte();
        var eventId = r.Guid();
        var id = r.String()!; var clickId = r.String()!; var clickAt = r.Time();
        var offerId = r.Int64(); var advertiserId = r.Int64(); var publisherId = r.Int64();
        var goal = r.String()!; var txid = r.String(); var dedupeKey = r.String()!; var status = r.String()!;
        decimal? amount = (flags & HasAmount) != 0 ? r.Decimal() : null;
        var currency = r.String()!;
        decimal? originalAmount = (flags & HasOriginalAmount) != 0 ? r.Decimal() : null;
        var originalCurrency = r.String();
        var payout = r.Decimal(); var revenue = r.Decimal();
        var sub1 = r.String(); var sub2 = r.String(); var sub3 = r.String(); var sub4 = r.String(); var sub5 = r.String();
        var source = r.String(); var ip = r.String(); var country = r.String();
        var flagCount = r.VarInt();
        if (flagCount > 64) throw new FormatException("Too many flags in a conversion event");
        var conversionFlags = new string[flagCount];
        for (var i = 0; i < conversionFlags.Length; i++) conversionFlags[i] = r.String()!;
        var via = r.String()!; var createdAt = r.Time(); var holdUntil = r.Time(); var statusChangedAt = r.Time();
        var actor = r.String()!; var reason = r.String();
        var (postbackIp, postbackQuery) = version >= 2 ? (r.String(), r.String()) : (null, null);
        return new ConversionCreated(eventId, id, clickId, clickAt, offerId, advertiserId, publisherId, goal, txid, dedupeKey, status,
            amount, currency, originalAmount, originalCurrency, payout, revenue, sub1, sub2, sub3, sub4, sub5, source, ip, country,
            conversionFlags, via, createdAt, holdUntil, statusChangedAt, actor, reason, (flags & AwaitingConfirmation) != 0,
            postbackIp, postbackQuery);
    }
}
