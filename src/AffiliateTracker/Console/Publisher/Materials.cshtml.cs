using AffiliateTracker.Creatives;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using AffiliateTracker.ProductFeeds;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Publisher;

/// An offer's banners and snippets with the publisher's own tracking link filled in, ready to copy, and its
/// product feeds to download with every product URL as their deep link.
public sealed class MaterialsModel(NpgsqlDataSource db, PublicBaseUrl publicUrl) : ConsolePage
{
    public List<OfferView> Offers { get; private set; } = [];
    [BindProperty(SupportsGet = true, Name = "offer")] public long? OfferId { get; set; }
    public OfferView? Offer => Offers.FirstOrDefault(o => o.Id == OfferId);
    public List<CreativeView> Creatives { get; private set; } = [];
    public List<ProductFeedView> Feeds { get; private set; } = [];
    /// False until the publisher has a tracking link for the offer: the code then carries {tracking_url}.
    public bool HasLink { get; private set; }

    public async Task OnGetAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Offers = (await AccessRequestApi.CatalogAsync(conn, Caller)).Where(o => o.Access == "granted").Select(o => o.Offer).ToList();
        OfferId ??= Offers.FirstOrDefault()?.Id;
        if (Offer is null) return;
        Creatives = await CreativeApi.ListAsync(conn, Caller, publicUrl, Offer.Id);
        Feeds = await ProductFeedApi.ListAsync(conn, Caller, Offer.Id);
        HasLink = await LinkApi.ActiveCodeAsync(conn, Offer.Id, Caller.PublisherId!.Value, null) is not null;
    }

    public async Task<IActionResult> OnGetDownloadAsync(long feed, string? format)
    {
        await ProductFeedApi.DownloadAsync(HttpContext, db, Caller, publicUrl, feed, format ?? "csv", null);
        return new EmptyResult();
    }
}
