namespace AffiliateTracker.Clicks;

/// One click as the tracker records it. IsUnique is decided by the flusher, not on the redirect path.
public sealed record ClickRecord(
    string ClickId,
    DateTimeOffset CreatedAt,
    long OfferId,
    long PublisherId,
    long? LinkId,
    string? Sub1, string? Sub2, string? Sub3, string? Sub4, string? Sub5,
    string? Source,
    string? Ip,
    string? UserAgent,
    string? Referrer,
    string? Country,
    bool IsBot)
{
    /// The advertiser's page a deep link (`url=`) sent the visitor to; null for the landing page.
    public string? DeepLink { get; init; }
    /// A deep link was asked for on a host the offer does not list (or was not a plain http(s) URL): the
    /// visitor went to the landing page instead.
    public bool DeepLinkRefused { get; init; }
    /// The smart link that chose this click's offer, and its rule (1-based).
    public long? SmartLinkId { get; init; }
    public int? SmartRule { get; init; }
    /// What `cost=` on the link said the click cost, in the offer's currency.
    public decimal? Cost { get; init; }
    /// Device, OS, browser and network: set by the click flusher, after the redirect.
    public TrafficDetails? Traffic { get; init; }

    public string? Sub(int n) => n switch { 1 => Sub1, 2 => Sub2, 3 => Sub3, 4 => Sub4, 5 => Sub5, _ => null };
}
