using AffiliateTracker.Console.Account;
using AffiliateTracker.Http;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// People: invitations (a one-time link shown once), disabling and re-enabling (sessions end at once), 2FA resets.
public sealed class UsersModel(NpgsqlDataSource db, PublicBaseUrl publicUrl) : ConsolePage
{
    public List<UserView> Users { get; private set; } = [];
    public List<(long Id, string Name)> Advertisers { get; private set; } = [];
    public List<(long Id, string Name)> Publishers { get; private set; } = [];
    public InvitationView? Invited { get; private set; }
    public InvitationCreate Invite { get; private set; } = new(null, "publisher", null, null);

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostInviteAsync(string? email, string? role, long? advertiserId, long? publisherId)
    {
        Invite = new InvitationCreate(email, role, role == "advertiser" ? advertiserId : null, role == "publisher" ? publisherId : null);
        await using (var conn = await db.OpenConnectionAsync())
        {
            try { Invited = await UserAdmin.InviteAsync(conn, Caller, Invite, publicUrl); }
            catch (ApiException e) when (e.Status is 400 or 409) { await LoadAsync(); return Refused(e); }
        }
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostStatusAsync(long id, string status)
    {
        if (id == CurrentUser!.Id) { Notice(T["Users.NotYourself"]); return RedirectToPage(); }
        await using var conn = await db.OpenConnectionAsync();
        var user = await UserAdmin.SetStatusAsync(conn, Caller, id, status);
        Notice(T["Users.StatusChanged", user.Email, T["Status." + user.Status]]);
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostResetTwoFactorAsync(long id)
    {
        await using var conn = await db.OpenConnectionAsync();
        await UserAdmin.ResetTwoFactorAsync(conn, Caller, id);
        Notice(T["Users.TwoFactorReset"]);
        return RedirectToPage();
    }

    private async Task LoadAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Users = await UserAdmin.ListAsync(conn, Caller);
        Advertisers = (await conn.QueryAsync<(long, string)>("SELECT id, name FROM advertisers ORDER BY name")).ToList();
        Publishers = (await conn.QueryAsync<(long, string)>("SELECT id, name FROM publishers ORDER BY name")).ToList();
    }
}
