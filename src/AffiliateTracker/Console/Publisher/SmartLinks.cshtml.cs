using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Publisher;

/// Smart links: one link that picks an offer per visitor by ordered rules (country, device, OS, weights), with a
/// fallback. Made and changed through SmartLinkApi; the form has a few rule slots, each an offer-weight table.
public sealed class SmartLinksModel(NpgsqlDataSource db, PublicBaseUrl publicUrl, NetworkCache network) : ConsolePage
{
    public sealed class RuleForm
    {
        public string? Countries { get; set; }
        public string[] DeviceTypes { get; set; } = [];
        public string[] Os { get; set; } = [];
        /// Weight per offer id; empty or 0 leaves the offer out of the rule.
        public Dictionary<long, int?> Weights { get; set; } = [];
    }

    public static readonly Dictionary<string, string> OsNames = new()
    {
        ["android"] = "Android", ["ios"] = "iOS", ["windows"] = "Windows", ["macos"] = "macOS", ["linux"] = "Linux",
    };

    public List<OfferView> Offers { get; private set; } = [];
    public List<SmartLinkView> Links { get; private set; } = [];
    public SmartLinkView? Editing { get; private set; }
    [BindProperty] public string? Name { get; set; }
    [BindProperty] public string? FallbackUrl { get; set; }
    [BindProperty] public string Status { get; set; } = "active";
    [BindProperty] public List<RuleForm> Rules { get; set; } = [];

    public async Task OnGetAsync(long? id)
    {
        await LoadAsync(id);
        if (Editing is { } e)
        {
            (Name, FallbackUrl, Status) = (e.Name, e.FallbackUrl, e.Status);
            Rules = e.Rules.Select(r => new RuleForm
            {
                Countries = string.Join(", ", r.Countries ?? []), DeviceTypes = r.DeviceTypes ?? [], Os = r.Os ?? [],
                Weights = (r.Offers ?? []).ToDictionary(o => o.OfferId ?? 0, o => o.Weight),
            }).ToList();
        }
        PadRules();
    }

    public async Task<IActionResult> OnPostAsync(long? id)
    {
        await LoadAsync(id);
        var rules = Rules.Where(r => r.Weights.Any(w => w.Value > 0)).Select(r => new SmartRuleInput(
            (r.Countries ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            r.DeviceTypes, r.Os,
            r.Weights.Where(w => w.Value > 0).Select(w => new SmartOfferInput(w.Key, w.Value)).ToArray())).ToArray();
        var input = new SmartLinkInput(null, Name, Status, rules, FallbackUrl);
        await using var conn = await db.OpenConnectionAsync();
        try
        {
            var saved = Editing is { } e
                ? await SmartLinkApi.UpdateAsync(conn, Caller, e.Id, input, publicUrl, network)
                : await SmartLinkApi.CreateAsync(conn, Caller, input, publicUrl, network);
            Notice(T["Common.Saved"]);
            return Redirect($"/publisher/smart-links/{saved.Id}");
        }
        catch (ApiException ex) when (ex.Status == 400)
        {
            PadRules();
            // rules[2].offers[0].offer_id and the like are shown with the rule list.
            return Refused(ex.Field?.StartsWith("rules") == true ? new ApiException(400, ex.Error, ex.Message, "rules") : ex);
        }
    }

    // A few empty rule slots after the ones in use.
    private void PadRules()
    {
        var used = Rules.Count(r => r.Weights.Any(w => w.Value > 0));
        Rules = Rules.Where(r => r.Weights.Any(w => w.Value > 0)).ToList();
        while (Rules.Count < Math.Max(3, used + 2)) Rules.Add(new RuleForm());
    }

    private async Task LoadAsync(long? id)
    {
        await using var conn = await db.OpenConnectionAsync();
        Offers = (await AccessRequestApi.CatalogAsync(conn, Caller)).Where(o => o.Access == "granted").Select(o => o.Offer).ToList();
        Links = await SmartLinkApi.ListAsync(conn, Caller, publicUrl);
        if (id is { } smartId) Editing = Links.FirstOrDefault(l => l.Id == smartId) ?? throw ApiException.NotFound("Smart link");
    }
}
