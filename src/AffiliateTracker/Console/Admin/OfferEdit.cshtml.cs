using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// Creates and edits an offer through the API's own operations (OfferApi, OfferAccessApi): terms, goals, who may
/// run it, with caps and payout overrides per publisher. Validation messages appear beside their fields.
public sealed class OfferEditModel(NpgsqlDataSource db, NetworkCache network) : ConsolePage
{
    public sealed class OfferForm
    {
        public long? AdvertiserId { get; set; }
        public string? Name { get; set; }
        public string? Description { get; set; }
        public string Status { get; set; } = "active";
        public string Visibility { get; set; } = "private";
        public string? LandingUrl { get; set; }
        public string? FallbackUrl { get; set; }
        public string Currency { get; set; } = "USD";
        public int? AttributionWindowHours { get; set; } = 720;
        public int? HoldPeriodHours { get; set; } = 720;
        public bool ManualApproval { get; set; }
        public bool PixelAutoApprove { get; set; }
        public string? DefaultGoal { get; set; }
        public int? DailyClickCap { get; set; }
        public int? MonthlyClickCap { get; set; }
        public int? DailyConversionCap { get; set; }
        public int? MonthlyConversionCap { get; set; }
        public string? AllowedCountries { get; set; }
        public string? DeepLinkDomains { get; set; }
        public string? DeepLinkTemplate { get; set; }
        // The first goal, when the offer is created.
        public string? GoalCode { get; set; } = "sale";
        public string? GoalName { get; set; }
        public string PayoutType { get; set; } = "fixed";
        public decimal? Payout { get; set; }
        public string RevenueType { get; set; } = "fixed";
        public decimal? Revenue { get; set; }
    }

    [BindProperty] public OfferForm Form { get; set; } = new();
    public long? Id { get; private set; }
    public OfferView? Offer { get; private set; }
    public List<OfferAccessApi.GrantView> Grants { get; private set; } = [];
    public List<(long Id, string Name)> Advertisers { get; private set; } = [];
    public List<(long Id, string Name, string Status)> Publishers { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string id)
    {
        await LoadAsync(id);
        if (Offer is { } o) Form = FormOf(o);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string id)
    {
        await LoadAsync(id);
        var f = Form;
        var countries = (f.AllowedCountries ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var deepDomains = (f.DeepLinkDomains ?? "").Split([',', ' ', ';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        await using var conn = await db.OpenConnectionAsync();
        try
        {
            if (Id is null)
            {
                var goal = new GoalInput(f.GoalCode, string.IsNullOrWhiteSpace(f.GoalName) ? null : f.GoalName, f.PayoutType, f.Payout, f.RevenueType, f.Revenue, true);
                var created = await OfferApi.CreateAsync(conn, Caller, network, new OfferInput(f.AdvertiserId, f.Name, f.Status, f.LandingUrl, f.FallbackUrl,
                    f.Currency, f.AttributionWindowHours, f.HoldPeriodHours, f.ManualApproval, null, f.DailyClickCap, f.MonthlyClickCap,
                    f.DailyConversionCap, f.MonthlyConversionCap, countries, [goal], f.PixelAutoApprove, f.Visibility, f.Description ?? "",
                    deepDomains, f.DeepLinkTemplate));
                Notice(T["OfferEdit.Created"]);
                return Redirect($"/admin/offers/{created.Id}");
            }
            // A cleared cap field means "no cap" (0), as PATCH takes it.
            await OfferApi.UpdateAsync(conn, Caller, network, Id.Value, new OfferInput(null, f.Name, f.Status, f.LandingUrl, f.FallbackUrl ?? "",
                f.Currency, f.AttributionWindowHours, f.HoldPeriodHours, f.ManualApproval, f.DefaultGoal, f.DailyClickCap ?? 0, f.MonthlyClickCap ?? 0,
                f.DailyConversionCap ?? 0, f.MonthlyConversionCap ?? 0, countries, null, f.PixelAutoApprove, f.Visibility, f.Description ?? "",
                deepDomains, f.DeepLinkTemplate ?? ""));
        }
        catch (ApiException e) when (e.Status == 400) { return Refused(e); }
        Notice(T["Common.Saved"]);
        return Redirect($"/admin/offers/{Id}");
    }

    public async Task<IActionResult> OnPostGoalAsync(string id, string? code, string? goalName, string? payoutType, decimal? payout,
        string? revenueType, decimal? revenue, bool oncePerClick)
    {
        await LoadAsync(id);
        if (Id is null) return NotFound();
        await using var conn = await db.OpenConnectionAsync();
        try
        {
            await OfferApi.UpsertGoalAsync(conn, Caller, network, Id.Value, code ?? "",
                new GoalInput(code, goalName, payoutType, payout, revenueType, revenue, oncePerClick));
        }
        catch (ApiException e) when (e.Status == 400) { ReloadForm(); return Refused(e); }
        Notice(T["Common.Saved"]);
        return Redirect($"/admin/offers/{Id}");
    }

    public async Task<IActionResult> OnPostGrantAsync(string id, long? publisherId, int? dailyClickCap, int? dailyConversionCap,
        string? overrideGoal, string? overrideType, decimal? overridePayout)
    {
        await LoadAsync(id);
        if (Id is null) return NotFound();
        if (publisherId is null) { ReloadForm(); return Refuse("publisherId", T["OfferEdit.PickPublisher"]); }
        await using var conn = await db.OpenConnectionAsync();
        try
        {
            PayoutOverrideInput[]? overrides = string.IsNullOrEmpty(overrideGoal) ? null : [new PayoutOverrideInput(overrideGoal, overrideType, overridePayout)];
            await OfferAccessApi.GrantAsync(conn, Caller, network, Id.Value, publisherId.Value,
                new AccessInput(dailyClickCap, null, dailyConversionCap, null, overrides));
        }
        catch (ApiException e) when (e.Status is 400 or 404) { ReloadForm(); return Refused(e); }
        Notice(T["OfferEdit.Granted"]);
        return Redirect($"/admin/offers/{Id}");
    }

    public async Task<IActionResult> OnPostRevokeAsync(string id, long publisherId)
    {
        await LoadAsync(id);
        if (Id is null) return NotFound();
        await using var conn = await db.OpenConnectionAsync();
        await OfferAccessApi.RevokeAsync(conn, Caller, network, Id.Value, publisherId);
        Notice(T["OfferEdit.Revoked"]);
        return Redirect($"/admin/offers/{Id}");
    }

    private void ReloadForm()
    {
        if (Offer is { } o) Form = FormOf(o);
    }

    private static OfferForm FormOf(OfferView o) => new()
    {
        AdvertiserId = o.AdvertiserId, Name = o.Name, Description = o.Description, Status = o.Status, Visibility = o.Visibility,
        LandingUrl = o.LandingUrl, FallbackUrl = o.FallbackUrl, Currency = o.Currency, AttributionWindowHours = o.AttributionWindowHours,
        HoldPeriodHours = o.HoldPeriodHours, ManualApproval = o.ManualApproval, PixelAutoApprove = o.PixelAutoApprove, DefaultGoal = o.DefaultGoal,
        DailyClickCap = o.DailyClickCap, MonthlyClickCap = o.MonthlyClickCap, DailyConversionCap = o.DailyConversionCap,
        MonthlyConversionCap = o.MonthlyConversionCap, AllowedCountries = string.Join(", ", o.AllowedCountries),
        DeepLinkDomains = string.Join(", ", o.DeepLinkDomains), DeepLinkTemplate = o.DeepLinkTemplate,
    };

    private async Task LoadAsync(string id)
    {
        Caller.RequireAdmin();
        await using var conn = await db.OpenConnectionAsync();
        Advertisers = (await conn.QueryAsync<(long, string)>("SELECT id, name FROM advertisers WHERE status = 'active' ORDER BY name")).ToList();
        if (id == "new") return;
        if (!long.TryParse(id, out var offerId)) throw ApiException.NotFound("Offer");
        Offer = await OfferApi.Load(conn, Caller, offerId) ?? throw ApiException.NotFound("Offer");
        Id = offerId;
        Grants = await OfferAccessApi.GrantsAsync(conn, Caller, offerId);
        Publishers = (await conn.QueryAsync<(long, string, string)>("SELECT id, name, status FROM publishers WHERE status = 'active' ORDER BY name")).ToList();
    }
}
