using AffiliateTracker.Http;
using AffiliateTracker.Reports;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Publisher;

/// What the publisher's bought traffic cost, uploaded as CSV (TrafficCostApi), so reports show profit and ROI per
/// day, offer and source; and the costs of the last 30 days.
public sealed class CostsModel(NpgsqlDataSource db, TimeProvider time) : ConsolePage
{
    public List<TrafficCostView> Costs { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostAsync(IFormFile? file)
    {
        if (file is null || file.Length == 0) { await LoadAsync(); return Refuse("file", T["Materials.ChooseFile"]); }
        try
        {
            await using var stream = file.OpenReadStream();
            var rows = await TrafficCostApi.ReadCsvAsync(stream);
            await using var conn = await db.OpenConnectionAsync();
            Notice(T["Costs.Saved", await TrafficCostApi.SaveAsync(conn, Caller, null, rows)]);
            return Redirect("/publisher/costs");
        }
        catch (ApiException e) when (e.Status is 400 or 413) { await LoadAsync(); return Refuse("file", e.Message, e.Status); }
    }

    private async Task LoadAsync()
    {
        var today = time.GetUtcNow().UtcDateTime.Date;
        await using var conn = await db.OpenConnectionAsync();
        Costs = await TrafficCostApi.ListAsync(conn, Caller, today.AddDays(-30), today, null, null);
    }
}
