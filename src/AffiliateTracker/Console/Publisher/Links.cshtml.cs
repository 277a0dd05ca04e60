using AffiliateTracker.Clicks;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Publisher;

/// The link builder: an offer the publisher runs, sub-ids, a source and optionally a deep link, and the tracking link to copy.
/// The publisher's tracking link for an offer is made once (LinkApi) and reused; sub-ids ride on its query string.
public sealed class LinksModel(NpgsqlDataSource db, PublicBaseUrl publicUrl, NetworkCache network) : ConsolePage
{
    public List<CatalogOffer> Offers { get; private set; } = [];
    public List<LinkView> Links { get; private set; } = [];
    [BindProperty(SupportsGet = true)] public long? OfferId { get; set; }
    [BindProperty] public string?[] Sub { get; set; } = new string?[5];
    [BindProperty] public string? Source { get; set; }
    /// A page on the advertiser's site to send visitors to instead of the landing page (a deep link).
    [BindProperty] public string? DeepUrl { get; set; }
    public string? Built { get; private set; }

    public async Task OnGetAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        await LoadAsync(conn);
    }

    public async Task<IActionResult> OnPostAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        await LoadAsync(conn);
        if (OfferId is not { } offerId || Offers.All(o => o.Offer.Id != offerId)) return Refuse("offerId", T["Links.PickOffer"]);
        var values = Sub.Concat([Source]).Select(v => v?.Trim()).ToArray();
        for (var i = 0; i < values.Length; i++)
            if (values[i] is { Length: > ClickEndpoints.MaxParamLength }) return Refuse(i < 5 ? $"sub{i + 1}" : "source", T["Links.TooLong", ClickEndpoints.MaxParamLength]);
        var offer = Offers.First(o => o.Offer.Id == offerId).Offer;
        var deepUrl = DeepUrl?.Trim();
        if (!string.IsNullOrEmpty(deepUrl))
        {
            if (offer.DeepLinkDomains.Length == 0) return Refuse("url", T["Links.NoDeepLinks"]);
            if (DeepLinkRules.AllowedHost(deepUrl, offer.DeepLinkDomains) is null)
                return Refuse("url", T["Links.DeepRefused", string.Join(", ", offer.DeepLinkDomains)]);
        }
        var link = Links.FirstOrDefault(l => l.OfferId == offerId && l.Status == "active")
            ?? await LinkApi.CreateAsync(conn, Caller, new LinkCreate(offerId, null), publicUrl, network);
        if (!Links.Contains(link)) Links.Add(link);
        var query = values.Select((v, i) => (Name: i < 5 ? $"sub{i + 1}" : "source", Value: v)).Where(p => !string.IsNullOrEmpty(p.Value))
            .Append((Name: "url", Value: deepUrl)).Where(p => !string.IsNullOrEmpty(p.Value))
            .Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}");
        Built = link.TrackingUrl + (query.Any() ? "?" + string.Join("&", query) : "");
        return Page();
    }

    private async Task LoadAsync(NpgsqlConnection conn)
    {
        Offers = (await AccessRequestApi.CatalogAsync(conn, Caller)).Where(o => o.Access == "granted").ToList();
        Links = await LinkApi.ListAsync(conn, Caller, publicUrl, null, null);
    }
}
