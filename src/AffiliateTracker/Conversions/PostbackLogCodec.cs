using AffiliateTracker.Storage;

namespace AffiliateTracker.Conversions;

/// The binary form of a batch of postback log entries, one stream entry per write: smaller than its JSON, and no parser.
/// Batches written as JSON (an array) before this form existed, still in the stream at an upgrade, read as before.
public static class PostbackLogCodec
{
    private const byte Version = 1;
    private const byte HasAdvertiser = 1, HasOffer = 2;

    public static byte[] EncodeBatch(IReadOnlyList<PostbackLogEntry> entries)
    {
        var size = 1;
        foreach (var e in entries)
            size += 1 + 16 + 8 + 4 + (e.AdvertiserId.HasValue ? 8 : 0) + (e.OfferId.HasValue ? 8 : 0)
                + S(e.Via) + S(e.ClickId) + S(e.Txid) + S(e.Goal) + S(e.Decision) + S(e.Message) + S(e.ConversionId) + S(e.RemoteIp) + S(e.Query);
        var buffer = new byte[size];
        var w = new BinaryRecordWriter(buffer);
        w.Byte(Version);
        foreach (var e in entries)
        {
            w.Byte((byte)((e.AdvertiserId.HasValue ? HasAdvertiser : 0) | (e.OfferId.HasValue ? HasOffer : 0)));
            w.Guid(e.EventId); w.Time(e.ReceivedAt); w.String(e.Via);
            if (e.AdvertiserId is { } advertiser) w.Int64(advertiser);
            if (e.OfferId is { } offer) w.Int64(offer);
            w.String(e.ClickId); w.String(e.Txid); w.String(e.Goal); w.String(e.Decision); w.Int32(e.HttpStatus);
            w.String(e.Message); w.String(e.ConversionId); w.String(e.RemoteIp); w.String(e.Query);
        }
        return buffer;

        static int S(string? s) => BinaryRecord.StringSize(s);
    }

    public static List<PostbackLogEntry> DecodeBatch(byte[] data)
    {
        if (data.Length > 0 && data[0] == (byte)'[') return ConversionJson.Deserialize<List<PostbackLogEntry>>(data);
        var r = new BinaryRecordReader(data);
        if (r.Byte() != Version) throw new FormatException("Unknown postback log batch version");
        var entries = new List<PostbackLogEntry>();
        while (!r.AtEnd)
        {
            var flags = r.Byte();
            var eventId = r.Guid(); var receivedAt = r.Time(); var via = r.String()!;
            long? advertiser = (flags & HasAdvertiser) != 0 ? r.Int64() : null;
            long? offer = (flags & HasOffer) != 0 ? r.Int64() : null;
            var clickId = r.String(); var txid = r.String(); var goal = r.String(); var decision = r.String()!; var status = r.Int32();
            entries.Add(new PostbackLogEntry(eventId, receivedAt, via, advertiser, offer, clickId, txid, goal, decision, status,
                r.String(), r.String(), r.String(), r.String()));
        }
        return entries;
    }
}
