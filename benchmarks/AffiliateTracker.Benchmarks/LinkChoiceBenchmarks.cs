using System.Collections.Frozen;
using AffiliateTracker.Clicks;
using AffiliateTracker.Network;
using AffiliateTracker.Storage;
using BenchmarkDotNet.Attributes;

namespace AffiliateTracker.Benchmarks;

/// What the redirect does to decide where a click goes, from the in-memory snapshot: a plain tracking link
/// (the baseline), a smart link whose first two rules do not match (so the third, weighted one decides), and a
/// deep link checked against the offer's domains. Each ends with the Location it would send.
/// Run: dotnet run -c Release --project benchmarks/AffiliateTracker.Benchmarks -- --filter '*LinkChoice*'
[MemoryDiagnoser]
public class LinkChoiceBenchmarks
{
    private const string Windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36";
    private const string DeepUrl = "https://www.shop.example/catalog/shoes/runner-42?color=red&size=43";
    private readonly NetworkSnapshot _snapshot;
    // No cap on these offers: the counters are never read (as on most offers), so no Redis is needed here.
    private readonly CapCounters _caps = new(null!, new RedisKeys("bench:"), null!, TimeProvider.System,
        Microsoft.Extensions.Logging.Abstractions.NullLogger<CapCounters>.Instance);
    private readonly ClickRecord _click;

    public LinkChoiceBenchmarks()
    {
        OfferConfig Offer(long id) => new(id, 1, $"Offer {id}", "active", $"https://o{id}.example/land?cid={{click_id}}&s1={{sub1}}", null, "USD",
            TimeSpan.FromDays(30), TimeSpan.FromDays(30), false, "sale", new Caps(null, null, null, null), FrozenSet<string>.Empty,
            FrozenDictionary<string, GoalConfig>.Empty, false, ["shop.example", "*.shop.example"], "clickid={click_id}");
        SmartRuleConfig Rule(int position, string[] countries, string[] os, params (long Offer, int Weight)[] offers) =>
            new(position, countries.ToFrozenSet(), FrozenSet<string>.Empty, os.ToFrozenSet(), offers.Select(o => new SmartOfferWeight(o.Offer, o.Weight)).ToArray());
        var offers = Enumerable.Range(1, 5).Select(i => Offer(i)).ToFrozenDictionary(o => o.Id);
        _snapshot = new NetworkSnapshot(offers,
            new Dictionary<long, PublisherConfig> { [7] = new(7, "active", null) }.ToFrozenDictionary(),
            new Dictionary<string, LinkConfig> { ["plainCode1"] = new(1, "plainCode1", 3, 7, "active") }.ToFrozenDictionary(StringComparer.Ordinal),
            offers.Keys.ToFrozenDictionary(id => (id, 7L), _ => new Caps(null, null, null, null)),
            FrozenDictionary<long, AdvertiserConfig>.Empty, FrozenDictionary<(long, long, string), PayoutOverride>.Empty,
            FrozenDictionary<(string, string), decimal>.Empty,
            new Dictionary<string, SmartLinkConfig>
            {
                ["smartCode1"] = new(9, "smartCode1", 7, "active", "https://fallback.example/", [
                    Rule(1, [], ["ios"], (1, 1)),
                    Rule(2, ["DE", "AT"], [], (2, 1)),
                    Rule(3, [], [], (3, 3), (4, 1), (5, 1)),
                ]),
            }.ToFrozenDictionary(StringComparer.Ordinal));
        _click = new ClickRecord(Ulid.New(DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, 3, 7, 1, "spring", null, null, null, null, null,
            "203.0.113.9", Windows, null, "US", false) { DeepLink = DeepUrl };
    }

    [Benchmark(Baseline = true)]
    public string PlainLink()
    {
        var link = _snapshot.Link("plainCode1")!;
        var offer = _snapshot.Offer(link.OfferId)!;
        var ok = offer.IsActive && _snapshot.Publisher(link.PublisherId)!.IsActive && _snapshot.HasAccess(offer.Id, link.PublisherId)
            && _caps.Reached(offer, _snapshot.PublisherCaps(offer.Id, link.PublisherId), link.PublisherId, _click.CreatedAt) is null;
        return ok ? LandingUrl.Expand(offer.LandingUrl, _click) : "";
    }

    [Benchmark]
    public string SmartLink()
    {
        var smart = _snapshot.SmartLink("smartCode1")!;
        var choice = SmartLinkChoice.Choose(_snapshot, smart, "US", Windows, _caps, _click.CreatedAt);
        return choice is { } c ? LandingUrl.Expand(c.Offer.LandingUrl, _click) : smart.FallbackUrl;
    }

    [Benchmark]
    public string DeepLink()
    {
        var link = _snapshot.Link("plainCode1")!;
        var offer = _snapshot.Offer(link.OfferId)!;
        var ok = offer.IsActive && _snapshot.Publisher(link.PublisherId)!.IsActive && _snapshot.HasAccess(offer.Id, link.PublisherId)
            && _caps.Reached(offer, _snapshot.PublisherCaps(offer.Id, link.PublisherId), link.PublisherId, _click.CreatedAt) is null;
        return ok && DeepLinkRules.AllowedHost(DeepUrl, offer.DeepLinkDomains) is not null ? LandingUrl.DeepLink(offer, _click) : "";
    }
}
