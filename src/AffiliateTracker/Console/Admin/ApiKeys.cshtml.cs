using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// Every API key of the network: issue one for any role and owner (shown once), revoke any (ApiKeyAdminApi).
public sealed class ApiKeysModel(NpgsqlDataSource db) : ConsolePage
{
    public List<ApiKeyView> Keys { get; private set; } = [];
    public Dictionary<long, string> Advertisers { get; private set; } = [];
    public Dictionary<long, string> Publishers { get; private set; } = [];
    public string? NewKey { get; private set; }

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostIssueAsync(string? role, long? advertiserId, long? publisherId, string? name)
    {
        await using (var conn = await db.OpenConnectionAsync())
        {
            try
            {
                NewKey = (await ApiKeyAdminApi.IssueAsync(conn, Caller, new ApiKeyCreate(role, role == Roles.Advertiser ? advertiserId : null,
                    role == Roles.Publisher ? publisherId : null, string.IsNullOrWhiteSpace(name) ? null : name))).Secret;
            }
            catch (ApiException e) when (e.Status == 400) { await LoadAsync(); return Refused(e); }
        }
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(long id)
    {
        await using var conn = await db.OpenConnectionAsync();
        await ApiKeyAdminApi.RevokeAsync(conn, Caller, id);
        Notice(T["ApiKeys.Revoked"]);
        return RedirectToPage();
    }

    public string Owner(ApiKeyView k) => k.AdvertiserId is { } a ? Advertisers.GetValueOrDefault(a, "#" + a)
        : k.PublisherId is { } p ? Publishers.GetValueOrDefault(p, "#" + p) : "";

    private async Task LoadAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Keys = (await ApiKeyAdminApi.ListAsync(conn, Caller)).OrderByDescending(k => k.Id).ToList();
        Advertisers = (await conn.QueryAsync<(long, string)>("SELECT id, name FROM advertisers")).ToDictionary(x => x.Item1, x => x.Item2);
        Publishers = (await conn.QueryAsync<(long, string)>("SELECT id, name FROM publishers")).ToDictionary(x => x.Item1, x => x.Item2);
    }
}
