using System.Text.Json;
using System.Text.Json.Serialization;

namespace AffiliateTracker.Conversions;

/// A new conversion, as it travels the conversion stream (ConversionCodec). Property names are the columns
/// of the conversions table; event_id, actor and reason go to the status history. PostbackIp and PostbackQuery are
/// the caller's address and parameters (secrets removed): the conversion is the postback log's entry for its postback.
public sealed record ConversionCreated(
    Guid EventId, string Id, string ClickId, DateTimeOffset ClickCreatedAt, long OfferId, long AdvertiserId, long PublisherId,
    string Goal, string? Txid, string DedupeKey, string Status, decimal? Amount, string Currency,
    decimal? OriginalAmount, string? OriginalCurrency, decimal Payout, decimal Revenue,
    string? Sub1, string? Sub2, string? Sub3, string? Sub4, string? Sub5, string? Source, string? ClickIp, string? Country,
    string[] Flags, string Via, DateTimeOffset CreatedAt, DateTimeOffset HoldUntil, DateTimeOffset StatusChangedAt,
    string Actor, string? Reason, bool AwaitingConfirmation, string? PostbackIp = null, string? PostbackQuery = null);

/// A status change; the conversion id comes from Redis (the stream entry's "id" field). Offer, goal and
/// dedupe key find the conversion when that id is not the one PostgreSQL kept.
public sealed record ConversionStatusChanged(Guid EventId, string To, string Actor, string? Reason, DateTimeOffset At,
    long? OfferId = null, string? Goal = null, string? DedupeKey = null);

/// The advertiser confirmed a conversion a browser reported. With Payout set, the advertiser's amount
/// replaces the browser's, and payout and revenue follow from it; without (an approval that named no
/// amount), the conversion is confirmed as it stands.
public sealed record ConversionConfirmed(Guid EventId, string Actor, DateTimeOffset At, long OfferId, string Goal, string DedupeKey,
    decimal? Amount, decimal? OriginalAmount, string? OriginalCurrency, decimal? Payout, decimal? Revenue);

/// The JSON of status changes and confirmations in the conversion stream, of new conversions and postback log
/// entries written before their binary forms (ConversionCodec, PostbackLogCodec) or with Conversions:BinaryStreams
/// off, and of the postback log's fallback insert: snake_case, so the names are the table columns. Source-generated: no reflection.
public static class ConversionJson
{
    public static byte[] Serialize(ConversionCreated value) => JsonSerializer.SerializeToUtf8Bytes(value, ConversionJsonContext.Default.ConversionCreated);
    public static byte[] Serialize(ConversionStatusChanged value) => JsonSerializer.SerializeToUtf8Bytes(value, ConversionJsonContext.Default.ConversionStatusChanged);
    public static byte[] Serialize(ConversionConfirmed value) => JsonSerializer.SerializeToUtf8Bytes(value, ConversionJsonContext.Default.ConversionConfirmed);
    public static byte[] Serialize(List<PostbackLogEntry> value) => JsonSerializer.SerializeToUtf8Bytes(value, ConversionJsonContext.Default.ListPostbackLogEntry);

    public static T Deserialize<T>(byte[] data) =>
        (T?)JsonSerializer.Deserialize(data, typeof(T), ConversionJsonContext.Default) ?? throw new JsonException("null event");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ConversionCreated))]
[JsonSerializable(typeof(ConversionStatusChanged))]
[JsonSerializable(typeof(ConversionConfirmed))]
[JsonSerializable(typeof(PostbackLogEntry))]
[JsonSerializable(typeof(List<PostbackLogEntry>))]
internal sealed partial class ConversionJsonContext : JsonSerializerContext;
