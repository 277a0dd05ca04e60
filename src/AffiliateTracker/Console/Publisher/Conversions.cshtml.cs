using AffiliateTracker.Conversions;
using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Publisher;

/// The publisher's conversions with their status, flags and, while pending, when the hold ends.
public sealed class ConversionsModel(NpgsqlDataSource db, NetworkCache network, TimeProvider time) : ConsolePage
{
    [BindProperty(SupportsGet = true)] public string? Status { get; set; }
    [BindProperty(SupportsGet = true)] public DateTime? From { get; set; }
    [BindProperty(SupportsGet = true)] public DateTime? To { get; set; }
    public List<ConversionRow> Rows { get; private set; } = [];
    public DateTime Now { get; } = time.GetUtcNow().UtcDateTime;

    // Offer names from the in-memory network snapshot: the conversions were already scoped to this caller.
    public string OfferName(long id) => network.Current.Offer(id)?.Name ?? "#" + id;

    public async Task OnGetAsync()
    {
        if (string.IsNullOrEmpty(Status)) Status = null;
        await using var conn = await db.OpenConnectionAsync();
        Rows = await ConversionApi.ListAsync(conn, Caller, new ConversionFilter(Status: Status, From: From, To: To?.Date.AddDays(1), Limit: 500));
    }
}
