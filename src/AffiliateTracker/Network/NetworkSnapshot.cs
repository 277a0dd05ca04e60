using System.Collections.Frozen;

namespace AffiliateTracker.Network;

/// MaxAmount and PixelAmount bound what an unsigned pixel (a browser) may report as the sale amount.
public sealed record GoalConfig(string Code, string Name, string PayoutType, decimal Payout, string RevenueType, decimal Revenue, bool OncePerClick,
    decimal? MaxAmount, decimal? PixelAmount);

public sealed record Caps(int? DailyClicks, int? MonthlyClicks, int? DailyConversions, int? MonthlyConversions)
{
    public bool Any { get; } = DailyClicks is not null || MonthlyClicks is not null || DailyConversions is not null || MonthlyConversions is not null;
}

public sealed record OfferConfig(
    long Id, long AdvertiserId, string Name, string Status, string LandingUrl, string? FallbackUrl, string Currency,
    TimeSpan AttributionWindow, TimeSpan HoldPeriod, bool ManualApproval, string DefaultGoal, Caps Caps,
    FrozenSet<string> AllowedCountries, FrozenDictionary<string, GoalConfig> Goals, bool PixelAutoApprove,
    string[] DeepLinkDomains, string? DeepLinkTemplate)
{
    public bool IsActive => Status == "active";
}

public sealed record PublisherConfig(long Id, string Status, string? PostbackUrl, bool PostbackPaused = false)
{
    public bool IsActive => Status == "active";
}

public sealed record AdvertiserConfig(long Id, string Status, byte[]? PostbackTokenHash, FrozenSet<System.Net.IPAddress> PostbackIps, int SigningKeyVersion = 0)
{
    public bool IsActive => Status == "active";
}

public sealed record PayoutOverride(string PayoutType, decimal Payout);

public sealed record LinkConfig(long Id, string Code, long OfferId, long PublisherId, string Status)
{
    public bool IsActive => Status == "active";
}

/// One rule of a smart link: a visitor it matches (every listed condition holds; an empty list is any) goes to
/// one of its offers, picked by weight among those that can take the click. Position is 1-based, as reports show it.
public sealed record SmartRuleConfig(int Position, FrozenSet<string> Countries, FrozenSet<string> DeviceTypes, FrozenSet<string> Os,
    SmartOfferWeight[] Offers);

public readonly record struct SmartOfferWeight(long OfferId, int Weight);

public sealed record SmartLinkConfig(long Id, string Code, long PublisherId, string Status, string FallbackUrl, SmartRuleConfig[] Rules)
{
    public bool IsActive => Status == "active";
    /// Whether any rule looks at the device or OS: only then is the user agent read before the redirect.
    public bool ReadsDevice { get; } = Rules.Any(r => r.DeviceTypes.Count > 0 || r.Os.Count > 0);
}

/// One consistent, immutable view of the network's configuration; the click path reads it without locks.
public sealed class NetworkSnapshot(
    FrozenDictionary<long, OfferConfig> offers,
    FrozenDictionary<long, PublisherConfig> publishers,
    FrozenDictionary<string, LinkConfig> linksByCode,
    FrozenDictionary<(long OfferId, long PublisherId), Caps> access,
    FrozenDictionary<long, AdvertiserConfig> advertisers,
    FrozenDictionary<(long OfferId, long PublisherId, string Goal), PayoutOverride> payoutOverrides,
    FrozenDictionary<(string From, string To), decimal> currencyRates,
    FrozenDictionary<string, SmartLinkConfig> smartLinksByCode)
{
    public static readonly NetworkSnapshot Empty = new(
        FrozenDictionary<long, OfferConfig>.Empty, FrozenDictionary<long, PublisherConfig>.Empty,
        FrozenDictionary<string, LinkConfig>.Empty, FrozenDictionary<(long, long), Caps>.Empty,
        FrozenDictionary<long, AdvertiserConfig>.Empty, FrozenDictionary<(long, long, string), PayoutOverride>.Empty,
        FrozenDictionary<(string, string), decimal>.Empty, FrozenDictionary<string, SmartLinkConfig>.Empty);

    public AdvertiserConfig? Advertiser(long id) => advertisers.GetValueOrDefault(id);
    public PayoutOverride? Override(long offerId, long publisherId, string goal) => payoutOverrides.GetValueOrDefault((offerId, publisherId, goal));
    public decimal? Rate(string from, string to) => currencyRates.TryGetValue((from, to), out var r) ? r : null;

    public OfferConfig? Offer(long id) => offers.GetValueOrDefault(id);
    public PublisherConfig? Publisher(long id) => publishers.GetValueOrDefault(id);
    public LinkConfig? Link(string code) => linksByCode.GetValueOrDefault(code);
    public SmartLinkConfig? SmartLink(string code) => smartLinksByCode.GetValueOrDefault(code);
    public bool HasAccess(long offerId, long publisherId) => access.ContainsKey((offerId, publisherId));
    public Caps? PublisherCaps(long offerId, long publisherId) => access.GetValueOrDefault((offerId, publisherId));
    public int OfferCount => offers.Count;

    /// Offers and access grants with any cap: the counters the redirect must watch.
    public IReadOnlyList<OfferConfig> CappedOffers { get; } = offers.Values.Where(o =>
        o.Caps is { DailyClicks: not null } or { MonthlyClicks: not null } or { DailyConversions: not null } or { MonthlyConversions: not null }).ToList();
    public IReadOnlyList<(long OfferId, long PublisherId)> CappedAccess { get; } = access.Where(a =>
        a.Value is { DailyClicks: not null } or { MonthlyClicks: not null } or { DailyConversions: not null } or { MonthlyConversions: not null })
        .Select(a => a.Key).ToList();
}
