using AffiliateTracker.Conversions;
using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// Flagged conversions waiting for an admin (too_fast, bot_click, over_cap, ip_velocity, amount_over_limit), each
/// with the click behind it, approved or rejected one by one or in bulk.
public sealed class ReviewModel(NpgsqlDataSource db, NetworkCache network, Shared.StatusChanges changes, TimeProvider time,
    Clicks.TrafficClassifier traffic) : ConsolePage
{
    [BindProperty(SupportsGet = true)] public string? Flag { get; set; }
    public List<ConversionRow> Rows { get; private set; } = [];
    public Dictionary<string, ConversionApi.ClickView> Clicks { get; private set; } = [];
    public DateTime Now { get; } = time.GetUtcNow().UtcDateTime;
    public string OfferName(long id) => network.Current.Offer(id)?.Name ?? "#" + id;
    public string NetworkName(int asn) => traffic.Networks.NameOf(asn) ?? "";

    public async Task OnGetAsync()
    {
        if (string.IsNullOrEmpty(Flag)) Flag = null;
        await using var conn = await db.OpenConnectionAsync();
        Rows = await ConversionApi.ListAsync(conn, Caller, new ConversionFilter(Status: "pending", Flag: Flag, Flagged: true, Limit: 200));
        Clicks = await ConversionApi.ClicksOfAsync(conn, Rows);
    }

    public async Task<IActionResult> OnPostStatusAsync(string[] ids, string? status, string? reason)
    {
        Notice(await changes.FromFormAsync(Caller, T, ids, status, reason));
        return RedirectToPage(new { Flag });
    }
}
