using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// Advertisers: add one (its first postback token is shown once), suspend and reactivate (AdvertiserApi).
public sealed class AdvertisersModel(NpgsqlDataSource db, NetworkCache network) : ConsolePage
{
    public List<AdvertiserView> Advertisers { get; private set; } = [];
    public AdvertiserView? Created { get; private set; }

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostCreateAsync(string? name)
    {
        await using (var conn = await db.OpenConnectionAsync())
        {
            try { Created = await AdvertiserApi.CreateAsync(conn, Caller, network, new AdvertiserCreate(name, null)); }
            catch (ApiException e) when (e.Status == 400) { await LoadAsync(); return Refused(e); }
        }
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostStatusAsync(long id, string status)
    {
        await using var conn = await db.OpenConnectionAsync();
        var view = await AdvertiserApi.UpdateAsync(conn, Caller, network, id, new AdvertiserUpdate(null, status, null));
        Notice(T["Publishers.StatusChanged", view.Name, T["Status." + view.Status]]);
        return RedirectToPage();
    }

    private async Task LoadAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Advertisers = await AdvertiserApi.ListAsync(conn, Caller);
    }
}
