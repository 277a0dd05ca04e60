using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Account;

/// A publisher signs up: the publisher and its first user are created together, pending until an admin approves
/// them (a pending publisher can neither sign in nor send clicks).
public sealed class SignUpModel(NpgsqlDataSource db, SignInThrottle throttle) : ConsolePage
{
    [BindProperty] public string? Company { get; set; }
    [BindProperty] public string? Website { get; set; }
    [BindProperty] public string? Traffic { get; set; }
    [BindProperty] public string? Email { get; set; }
    [BindProperty] public string? Password { get; set; }
    public bool Done { get; private set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync()
    {
        var ip = HttpContext.Connection.RemoteIpAddress;
        // Sign-ups are counted per address like failed sign-ins (a few per window): a script cannot mint accounts without limit.
        if (await throttle.BlockedForAsync($"signup:{ip}", ip) is { } wait) return Refuse("", T["SignIn.Throttled", (int)Math.Ceiling(wait.TotalMinutes)], 429);
        try
        {
            var name = Validate.Name(Company, "company");
            var website = Website is { Length: > 0 } ? Network.LandingUrlRules.Validated(Website, "website") : null;
            var traffic = Validate.Text(Traffic, "traffic", 1000);
            var email = ConsoleUsers.ValidEmail(Email);
            ConsoleUsers.ValidPassword(Password, email);
            await using var conn = await db.OpenConnectionAsync();
            await using var tx = await conn.BeginTransactionAsync();
            var publisherId = await conn.ExecuteScalarAsync<long>("""
                INSERT INTO publishers (name, status, website, traffic_sources) VALUES (@name, 'pending', @website, @traffic) RETURNING id
                """, new { name, website, traffic }, tx);
            await ConsoleUsers.CreateAsync(conn, tx, email, Password!, Roles.Publisher, null, publisherId, T.Language);
            await tx.CommitAsync();
        }
        catch (ApiException e) when (e.Status is 400 or 409) { return Refused(e); }
        await throttle.FailedAsync($"signup:{ip}", ip);
        Done = true;
        return Page();
    }
}
