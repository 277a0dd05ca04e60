using AffiliateTracker.Conversions;
using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Advertiser;

/// The advertiser's conversions: approve or reject, one by one or in bulk, with a reason (flagged ones wait for the network).
public sealed class ConversionsModel(NpgsqlDataSource db, NetworkCache network, Shared.StatusChanges changes, TimeProvider time) : ConsolePage
{
    [BindProperty(SupportsGet = true)] public string? Show { get; set; }
    [BindProperty(SupportsGet = true)] public string? Txid { get; set; }
    public List<ConversionRow> Rows { get; private set; } = [];
    public DateTime Now { get; } = time.GetUtcNow().UtcDateTime;
    public string OfferName(long id) => network.Current.Offer(id)?.Name ?? "#" + id;

    public async Task OnGetAsync()
    {
        Show = string.IsNullOrEmpty(Show) ? null : Show;
        Txid = string.IsNullOrWhiteSpace(Txid) ? null : Txid.Trim();
        await using var conn = await db.OpenConnectionAsync();
        Rows = await ConversionApi.ListAsync(conn, Caller, new ConversionFilter(Status: Show, Txid: Txid, Limit: 200));
    }

    public async Task<IActionResult> OnPostStatusAsync(string[] ids, string? status, string? reason)
    {
        Notice(await changes.FromFormAsync(Caller, T, ids, status, reason));
        return RedirectToPage(new { Show, Txid });
    }
}
