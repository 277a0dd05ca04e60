using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// Publishers asking to run public offers: approve (the publisher is granted the offer) or decline with a reason.
public sealed class AccessRequestsModel(NpgsqlDataSource db, NetworkCache network) : ConsolePage
{
    public List<AccessRequestView> Requests { get; private set; } = [];

    public async Task OnGetAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Requests = await AccessRequestApi.ListAsync(conn, Caller, null);
    }

    public async Task<IActionResult> OnPostDecideAsync(long id, string decision, string? reason)
    {
        await using var conn = await db.OpenConnectionAsync();
        var r = await AccessRequestApi.DecideAsync(conn, Caller, network, id, decision == "approve", string.IsNullOrWhiteSpace(reason) ? null : reason);
        Notice(T["AccessRequests.Decided", r.PublisherName, r.OfferName, T["Status." + r.Status]]);
        return RedirectToPage();
    }
}
