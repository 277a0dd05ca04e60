using AffiliateTracker.Http;
using AffiliateTracker.Reconciliation;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Shared;

/// Reconciliations for advertisers (upload their report, see the differences, send it to the network) and admins
/// (apply it): the list, or one reconciliation with its differences by kind (ReconciliationApi, ReconciliationService).
public abstract class ReconciliationPage(NpgsqlDataSource db, ReconciliationService service) : ConsolePage
{
    public List<ReconciliationApi.ReconciliationListItem> List { get; private set; } = [];
    public ReconciliationSummary? Summary { get; private set; }
    public ReconciliationApi.ReconciliationListItem? Item { get; private set; }
    public List<ReconciliationItem> Items { get; private set; } = [];
    [BindProperty(SupportsGet = true)] public string? Kind { get; set; }
    public List<(long Id, string Name)> Advertisers { get; protected set; } = [];
    public abstract string Home { get; }

    public async Task<IActionResult> OnGetAsync(long? id)
    {
        await LoadAsync(id);
        return Page();
    }

    public async Task<IActionResult> OnPostUploadAsync(IFormFile? report, long? advertiserId)
    {
        if (report is null || report.Length == 0) { await LoadAsync(null); return Refuse("report", T["Recon.ChooseFile"]); }
        try
        {
            await using var stream = report.OpenReadStream();
            var summary = await ReconciliationApi.UploadAsync(Caller, service, db, stream, advertiserId, null, null, null);
            return Redirect($"{Home}/{summary.Id}");
        }
        catch (ApiException e) when (e.Status == 400) { await LoadAsync(null); return Refused(e); }
    }

    public async Task<IActionResult> OnPostSubmitAsync(long id)
    {
        await using (var conn = await db.OpenConnectionAsync()) await ReconciliationApi.SubmitAsync(conn, Caller, id);
        Notice(T["Recon.Submitted"]);
        return Redirect($"{Home}/{id}");
    }

    public async Task<IActionResult> OnPostApplyAsync(long id)
    {
        Caller.RequireAdmin();
        var changes = await service.ApplyAsync(id, Caller.Actor);
        Notice(T["Recon.Applied", changes]);
        return Redirect($"{Home}/{id}");
    }

    private async Task LoadAsync(long? id)
    {
        await using var conn = await db.OpenConnectionAsync();
        List = await ReconciliationApi.ListAsync(conn, Caller);
        if (Caller.IsAdmin)
            Advertisers = (await Dapper.SqlMapper.QueryAsync<(long, string)>(conn, "SELECT id, name FROM advertisers ORDER BY name")).ToList();
        if (id is null) return;
        Summary = await service.GetAsync(conn, id.Value, Caller.AdvertiserId) ?? throw ApiException.NotFound("Reconciliation");
        Item = List.FirstOrDefault(r => r.Id == id);
        if (Kind is not null && !ReconciliationService.Kinds.Contains(Kind)) Kind = null;
        Items = (await service.ItemsAsync(id.Value, Kind ?? "status_differs", 500, 0)).ToList();
        Kind ??= "status_differs";
    }
}
