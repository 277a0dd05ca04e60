namespace AffiliateTracker.Abuse;

/// What part of the wire contract a request aims at (the table groups by Endpoint, the checks by Family).
public enum Family { Click, Postback, Pixel, Health, Api, Reconciliation, Malformed, Other }

/// One generated request: its bytes exactly as sent, and what the checks need to know about it.
public sealed class AbuseRequest
{
    public required int Index { get; init; }
    /// Table label, e.g. "GET /c/{code}" or "raw: bad request line".
    public required string Endpoint { get; init; }
    public required Family Family { get; init; }
    public required byte[] Bytes { get; init; }
    public required string Method { get; init; }
    /// The request target as sent (a byte string), for reports.
    public required string Target { get; init; }
    /// Close the connection after the answer (broken framing, or a body the server may not read).
    public bool OneShot { get; init; }
    public bool Head { get; init; }
    /// Send only this many bytes and hang up: the client gives up mid-request; no answer is expected.
    public int AbortAfter { get; init; } = -1;
    /// A valid HTTP/1.1 message within Kestrel's limits: no answer at all is a violation.
    public bool WellFormed { get; init; } = true;
    /// /c/{code} for one of the run's own links: the redirect may only go to this offer's landing or fallback host.
    public TrackedOffer? ExpectedOffer { get; init; }
    /// /s/{code} for one of the run's smart links: a click may only be on its offers, anything else goes to its fallback.
    public TrackedSmartLink? ExpectedSmartLink { get; init; }
    /// A well-formed GET /pixel: the contract says it always answers 200 with a GIF.
    public bool PixelContract { get; init; }

    public override string ToString() => $"#{Index} {Method} {(Target.Length > 160 ? Target[..160] + "..." : Target)}";
}

/// An offer this run made, with where its redirects may go.
public sealed class TrackedOffer
{
    public required long Id { get; init; }
    public required string Label { get; init; }
    /// scheme://host[:port], compared case-insensitively; null when the offer never sends to its landing URL.
    public required string LandingOrigin { get; init; }
    public string? FallbackOrigin { get; init; }
    public List<string> LinkCodes { get; } = [];
    public long PublisherId { get; init; }
    /// Hosts a deep link may go to ('shop.x.example', '*.brand.x.example'), over http or https.
    public string[] DeepLinkDomains { get; init; } = [];

    /// Whether a click recorded on this offer may redirect here: its landing origin, or a deep link's host.
    public bool Allows(string location) => AbuseRunner.OnOrigin(location, LandingOrigin) || OnDeepLinkDomain(location);

    private bool OnDeepLinkDomain(string location)
    {
        var start = location.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? 8
            : location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? 7 : -1;
        if (start < 0 || DeepLinkDomains.Length == 0) return false;
        var end = location.IndexOfAny(['/', '?', '#'], start);
        var authority = end < 0 ? location[start..] : location[start..end];
        if (authority.Contains('@') || authority.Contains('\\') || authority.Contains('%')) return false;
        var host = (authority.LastIndexOf(':') is var colon and >= 0 ? authority[..colon] : authority).ToLowerInvariant();
        return DeepLinkDomains.Any(d => d.StartsWith("*.") ? host == d[2..] || host.EndsWith(d[1..]) : host == d);
    }
}

/// A smart link this run made: the offers its rules may choose, and where it sends everyone else.
public sealed class TrackedSmartLink
{
    public required string Code { get; init; }
    public required string FallbackOrigin { get; init; }
    public required List<TrackedOffer> Offers { get; init; }
}

/// Everything the generator needs to know about the network it attacks; made by AbuseSetup.
public sealed class AbuseTarget
{
    public required string HostHeader { get; init; }
    public required int Seed { get; init; }
    /// Names of records this run creates start with it, so the checks find them.
    public required string Tag { get; init; }
    public required string AdminKey { get; init; }
    public string AdvertiserKey { get; set; } = "";
    public string PublisherKey { get; set; } = "";
    public string SacrificialAdvertiserKey { get; set; } = "";
    public string SacrificialPublisherKey { get; set; } = "";
    public string PostbackToken { get; set; } = "";

    public long AdvertiserId { get; set; }
    public long PublisherId { get; set; }
    /// Records the fuzzer may change at will (PATCH, PUT, DELETE): never the ones clicks and postbacks use.
    public long SacrificialAdvertiserId { get; set; }
    public long SacrificialOfferId { get; set; }
    public long SacrificialPublisherId { get; set; }
    public long SacrificialLinkId { get; set; }
    public long SacrificialKeyId { get; set; }
    public long ReconciliationId { get; set; }
    /// Tracking links setup made (the checks compare the links of the run's offers with these plus the 201s).
    public int SetupLinks { get; set; }

    public List<TrackedOffer> Offers { get; } = [];
    /// Offers whose clicks convert by postback (token), and the one converting by pixel (cookie).
    public List<TrackedOffer> PostbackOffers { get; } = [];
    public TrackedOffer? PixelOffer { get; set; }
    public List<TrackedOffer> ProbeOffers { get; } = [];
    /// The offer that takes deep links, and the run's smart links (one active, one disabled).
    public TrackedOffer? DeepLinkOffer { get; set; }
    public List<TrackedSmartLink> SmartLinks { get; } = [];
    public long SacrificialSmartLinkId { get; set; }
    public long SacrificialFeedId { get; set; }
    public string[] PostbackClicks { get; set; } = [];
    public string[] PixelClicks { get; set; } = [];
    /// Made-up currency codes only this suite uses, so rate changes touch nobody else.
    public static readonly string[] OwnCurrencies = ["QQA", "QQB", "QQC"];

    public TrackedOffer? OfferById(long id) => Offers.FirstOrDefault(o => o.Id == id);
    public TrackedOffer? OfferByCode(string code) => Offers.FirstOrDefault(o => o.LinkCodes.Contains(code));
}
