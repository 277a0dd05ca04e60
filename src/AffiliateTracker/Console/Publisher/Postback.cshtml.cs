using AffiliateTracker.Conversions;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using AffiliateTracker.PublisherPostbacks;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Publisher;

/// Where the network tells the publisher about their conversions: the postback URL with its macros, a test fire,
/// and the delivery log (PublisherApi, PublisherPostbackApi).
public sealed class PostbackModel(NpgsqlDataSource db, NetworkCache network, PublisherPostbackSender sender) : ConsolePage
{
    public static IReadOnlyList<string> Macros => PublisherPostbackOutbox.Macros;
    public PublisherView Publisher { get; private set; } = null!;
    public List<(DeliveryView Delivery, List<PublisherPostbackApi.AttemptRow> Attempts)> Deliveries { get; private set; } = [];
    public PublisherPostbackSender.TestFire? Test { get; private set; }
    [BindProperty] public string? Url { get; set; }

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostSaveAsync()
    {
        await using (var conn = await db.OpenConnectionAsync())
        {
            try { await PublisherApi.UpdateAsync(conn, Caller, network, Caller.PublisherId!.Value, new PublisherUpdate(null, null, null, Url ?? "")); }
            catch (ApiException e) when (e.Status == 400) { await LoadAsync(keepUrl: true); return Refused(e); }
        }
        Notice(T["Common.Saved"]);
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostTestAsync()
    {
        await using (var conn = await db.OpenConnectionAsync())
        {
            try { Test = await PublisherPostbackApi.TestAsync(conn, Caller, sender, null, HttpContext.RequestAborted); }
            catch (ApiException e) when (e.Status == 409) { await LoadAsync(); return Refuse("url", T["Postback.SaveFirst"], 409); }
        }
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync(bool keepUrl = false)
    {
        await using var conn = await db.OpenConnectionAsync();
        Publisher = await PublisherApi.GetAsync(conn, Caller, Caller.PublisherId!.Value);
        if (!keepUrl) Url = Publisher.PostbackUrl;
        Deliveries = await PublisherPostbackApi.DeliveriesAsync(conn, Caller, null, null, null, 50);
    }
}
