namespace AffiliateTracker.Conversions;

/// What a postback or pixel came to: the HTTP answer and everything the postback log records.
public sealed record PostbackOutcome(int HttpStatus, string Decision, string Message, string? ConversionId = null, string? Status = null)
{
    /// The decision of a postback that made a new conversion.
    public const string Created = "created";

    public bool IsSuccess => HttpStatus == 200;

    public long? AdvertiserId { get; init; }
    public long? OfferId { get; init; }
    public string? ClickId { get; init; }

    public static PostbackOutcome Fail(int status, string decision, string message) => new(status, decision, message);
}
