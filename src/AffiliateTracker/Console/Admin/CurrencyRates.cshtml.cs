using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// Exchange rates for postbacks in another currency than their offer's (CurrencyRateApi).
public sealed class CurrencyRatesModel(NpgsqlDataSource db, NetworkCache network) : ConsolePage
{
    public List<CurrencyRateApi.RateView> Rates { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostAsync(string? from, string? to, decimal? rate)
    {
        await using (var conn = await db.OpenConnectionAsync())
        {
            try { await CurrencyRateApi.SetAsync(conn, Caller, network, from ?? "", to ?? "", rate); }
            catch (ApiException e) when (e.Status == 400) { await LoadAsync(); return Refused(e); }
        }
        Notice(T["Common.Saved"]);
        return RedirectToPage();
    }

    private async Task LoadAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Rates = await CurrencyRateApi.ListAsync(conn, Caller);
    }
}
