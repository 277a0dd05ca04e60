using AffiliateTracker.Conversions;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Advertiser;

/// How the advertiser reports conversions: the postback URL to call, a token and a signing key (each shown once
/// when issued), and the postback log with the reason for every decision (PostbackCredentialsApi, PostbackLogApi).
public sealed class PostbackModel(NpgsqlDataSource db, NetworkCache network, PostbackSigning signing, PublicBaseUrl publicUrl) : ConsolePage
{
    [BindProperty(SupportsGet = true)] public string? ClickId { get; set; }
    [BindProperty(SupportsGet = true)] public string? Txid { get; set; }
    [BindProperty(SupportsGet = true)] public string? Decision { get; set; }
    public List<PostbackLogView> Log { get; private set; } = [];
    public string? NewToken { get; private set; }
    public string? NewSigningKey { get; private set; }
    public string BaseUrl => publicUrl.Value;

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostTokenAsync()
    {
        await using (var conn = await db.OpenConnectionAsync())
            NewToken = await PostbackCredentialsApi.IssueTokenAsync(conn, Caller, network, Caller.AdvertiserId!.Value);
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostSigningKeyAsync()
    {
        await using (var conn = await db.OpenConnectionAsync())
            NewSigningKey = await PostbackCredentialsApi.IssueSigningKeyAsync(conn, Caller, network, signing, Caller.AdvertiserId!.Value);
        await LoadAsync();
        return Page();
    }

    /// Why a postback was or was not counted, in the visitor's language; the log's own message adds the particulars.
    public string Explain(PostbackLogView entry) => T["Decision." + entry.Decision] is var s && s != "Decision." + entry.Decision ? s : entry.Decision;

    private async Task LoadAsync()
    {
        static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
        await using var conn = await db.OpenConnectionAsync();
        Log = await PostbackLogApi.SearchAsync(conn, Caller, new PostbackLogFilter(Clean(ClickId), Clean(Txid), Clean(Decision), Limit: 100));
    }
}
