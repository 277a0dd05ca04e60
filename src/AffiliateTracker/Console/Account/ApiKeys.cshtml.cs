using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Account;

/// Keys for the user's own scripts, with the user's role and owner (Access/OwnApiKeysApi.cs).
public sealed class ApiKeysModel(NpgsqlDataSource db) : ConsolePage
{
    public IReadOnlyList<ApiKeyView> Keys { get; private set; } = [];
    /// A key just issued: shown on this one answer, never again.
    public string? NewKey { get; private set; }

    public async Task OnGetAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Keys = await OwnApiKeysApi.ListAsync(conn, Caller);
    }

    public async Task<IActionResult> OnPostIssueAsync(string? name)
    {
        await using var conn = await db.OpenConnectionAsync();
        try
        {
            (_, NewKey) = await OwnApiKeysApi.IssueAsync(conn, Caller, string.IsNullOrWhiteSpace(name) ? null : name, CurrentUser!.Id);
        }
        catch (ApiException e) { Keys = await OwnApiKeysApi.ListAsync(conn, Caller); return Refused(e); }
        Keys = await OwnApiKeysApi.ListAsync(conn, Caller);
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(long id)
    {
        await using var conn = await db.OpenConnectionAsync();
        await OwnApiKeysApi.RevokeAsync(conn, Caller, id);
        Notice(T["ApiKeys.Revoked"]);
        return RedirectToPage();
    }
}
