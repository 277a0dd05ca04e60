using System.Text.Json;
using System.Text.Json.Serialization;

namespace AffiliateTracker.Conversions;

/// A new conversion, as it travels the conversion stream. Property names (snake_case) are the columns of
/// the conversions table, so the flusher inserts a batch with jsonb_populate_recordset; event_id, actor
/// and reason go to the status history.
public sealed record ConversionCreated(
    Guid EventId, string Id, string ClickId, DateTimeOffset ClickCreatedAt, long OfferId, long AdvertiserId, long PublisherId,
    string Goal, string? Txid, string DedupeKey, string Status, decimal? Amount, string Currency,
    decimal? OriginalAmount, string? OriginalCurrency, decimal Payout, decimal Revenue,
    string? Sub1, string? Sub2, string? Sub3, string? Sub4, string? Sub5, string? Source, string? ClickIp, string? Country,
    string[] Flags, string Via, DateTimeOffset CreatedAt, DateTimeOffset HoldUntil, DateTimeOffset StatusChangedAt,
    string Actor, string? Reason);

/// A status change; the conversion id comes from Redis (the stream entry's "id" field). Offer, goal and
/// dedupe key find the conversion when that id is not the one PostgreSQL kept.
public sealed record ConversionStatusChanged(Guid EventId, string To, string Actor, string? Reason, DateTimeOffset At,
    long? OfferId = null, string? Goal = null, string? DedupeKey = null);

public static class ConversionJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);
    public static T Deserialize<T>(byte[] data) => JsonSerializer.Deserialize<T>(data, Options) ?? throw new JsonException("null event");
}
