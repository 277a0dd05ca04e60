namespace AffiliateTracker.Conversions;

/// A conversion as stored in PostgreSQL (and as the API shows it).
public sealed class ConversionRow
{
    public string Id { get; init; } = "";
    public string ClickId { get; init; } = "";
    public DateTime ClickCreatedAt { get; init; }
    public long OfferId { get; init; }
    public long AdvertiserId { get; init; }
    public long PublisherId { get; init; }
    public string Goal { get; init; } = "";
    public string? Txid { get; init; }
    public string DedupeKey { get; init; } = "";
    public string Status { get; init; } = "";
    public decimal? Amount { get; init; }
    public string Currency { get; init; } = "";
    public decimal? OriginalAmount { get; init; }
    public string? OriginalCurrency { get; init; }
    public decimal Payout { get; init; }
    public decimal? Revenue { get; set; }
    public string? Sub1 { get; init; }
    public string? Sub2 { get; init; }
    public string? Sub3 { get; init; }
    public string? Sub4 { get; init; }
    public string? Sub5 { get; init; }
    public string? Source { get; init; }
    public string? Country { get; init; }
    public string[] Flags { get; init; } = [];
    public string Via { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime HoldUntil { get; init; }
    public DateTime StatusChangedAt { get; init; }
    /// Reported by a browser (an unsigned pixel) and not yet confirmed by the advertiser: never approved by the hold.
    public bool AwaitingConfirmation { get; init; }

    public static ConversionRow From(ConversionCreated c) => new()
    {
        Id = c.Id, ClickId = c.ClickId, ClickCreatedAt = c.ClickCreatedAt.UtcDateTime, OfferId = c.OfferId, AdvertiserId = c.AdvertiserId,
        PublisherId = c.PublisherId, Goal = c.Goal, Txid = c.Txid, DedupeKey = c.DedupeKey, Status = c.Status, Amount = c.Amount,
        Currency = c.Currency, OriginalAmount = c.OriginalAmount, OriginalCurrency = c.OriginalCurrency, Payout = c.Payout, Revenue = c.Revenue,
        Sub1 = c.Sub1, Sub2 = c.Sub2, Sub3 = c.Sub3, Sub4 = c.Sub4, Sub5 = c.Sub5, Source = c.Source, Country = c.Country, Flags = c.Flags,
        Via = c.Via, CreatedAt = c.CreatedAt.UtcDateTime, HoldUntil = c.HoldUntil.UtcDateTime, StatusChangedAt = c.StatusChangedAt.UtcDateTime,
        AwaitingConfirmation = c.AwaitingConfirmation,
    };
}
