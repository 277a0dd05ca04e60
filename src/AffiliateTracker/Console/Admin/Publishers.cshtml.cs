using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// Publishers: approve those who signed up, suspend and reactivate, set the minimum payout (PublisherApi).
public sealed class PublishersModel(NpgsqlDataSource db, NetworkCache network) : ConsolePage
{
    [BindProperty(SupportsGet = true)] public string? Filter { get; set; }
    public List<PublisherView> Publishers { get; private set; } = [];

    public async Task OnGetAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Publishers = (await PublisherApi.ListAsync(conn, Caller)).Where(p => string.IsNullOrEmpty(Filter) || p.Status == Filter).ToList();
    }

    public async Task<IActionResult> OnPostStatusAsync(long id, string status)
    {
        await using var conn = await db.OpenConnectionAsync();
        var view = await PublisherApi.UpdateAsync(conn, Caller, network, id, new PublisherUpdate(null, status, null, null));
        Notice(T["Publishers.StatusChanged", view.Name, T["Status." + view.Status]]);
        return RedirectToPage(new { Filter });
    }

    public async Task<IActionResult> OnPostMinPayoutAsync(long id, decimal? minPayout)
    {
        await using var conn = await db.OpenConnectionAsync();
        if (minPayout is null) return await Fail(conn, "min_payout", T["Publishers.MinPayoutRequired"]);
        try
        {
            await PublisherApi.UpdateAsync(conn, Caller, network, id, new PublisherUpdate(null, null, minPayout, null));
        }
        catch (Http.ApiException e) when (e.Status == 400)
        {
            Publishers = await PublisherApi.ListAsync(conn, Caller);
            return Refused(e);
        }
        Notice(T["Common.Saved"]);
        return RedirectToPage(new { Filter });
    }

    private async Task<IActionResult> Fail(NpgsqlConnection conn, string field, string message)
    {
        Publishers = await PublisherApi.ListAsync(conn, Caller);
        return Refuse(field, message);
    }
}
