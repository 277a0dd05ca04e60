using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Account;

/// The one-time link from an invitation: choose a password, and the account exists.
public sealed class InvitationModel(NpgsqlDataSource db, ConsoleUsers users) : ConsolePage
{
    public UserAdmin.OpenInvitation? Open { get; private set; }

    public async Task<IActionResult> OnGetAsync(string token)
    {
        await using var conn = await db.OpenConnectionAsync();
        Open = await UserAdmin.FindOpenAsync(conn, token);
        if (Open is null) Response.StatusCode = 404;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string token, string? password, string? confirm)
    {
        await using var conn = await db.OpenConnectionAsync();
        Open = await UserAdmin.FindOpenAsync(conn, token);
        if (Open is null) { Response.StatusCode = 404; return Page(); }
        if (password != confirm) return Refuse("confirm", T["Security.Mismatch"]);
        try
        {
            ConsoleUsers.ValidPassword(password, Open.Email);
            var id = await UserAdmin.AcceptAsync(conn, token, password, T.Language);
            return await SignInModel.CompleteAsync(HttpContext, users, (await users.FindAsync(id))!, null);
        }
        catch (Http.ApiException e) when (e.Status is 400 or 409) { return Refused(e); }
    }
}
