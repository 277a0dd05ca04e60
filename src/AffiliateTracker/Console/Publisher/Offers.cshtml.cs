using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Publisher;

/// The offers a publisher runs and the public ones they may ask to run (the API's offer catalog).
public sealed class OffersModel(NpgsqlDataSource db) : ConsolePage
{
    public List<CatalogOffer> Offers { get; private set; } = [];

    public async Task OnGetAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Offers = await AccessRequestApi.CatalogAsync(conn, Caller);
    }

    public async Task<IActionResult> OnPostRequestAsync(long offerId, string? message)
    {
        await using var conn = await db.OpenConnectionAsync();
        await AccessRequestApi.RequestAsync(conn, Caller, offerId, message);
        Notice(T["Offers.Requested"]);
        return RedirectToPage();
    }
}
