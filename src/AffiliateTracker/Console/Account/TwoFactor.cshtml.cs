using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace AffiliateTracker.Console.Account;

/// The second step of sign-in for users with an authenticator app: the code from the app.
public sealed class TwoFactorModel(ConsoleUsers users, SignInThrottle throttle, TwoFactorCodes codes) : ConsolePage
{
    [BindProperty] public string? Code { get; set; }
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }

    public async Task<IActionResult> OnGetAsync() =>
        await PendingUserAsync() is null ? Redirect(ConsoleAuth.SignInPath) : Page();

    public async Task<IActionResult> OnPostAsync()
    {
        var user = await PendingUserAsync();
        if (user is null) return Redirect(ConsoleAuth.SignInPath);
        var ip = HttpContext.Connection.RemoteIpAddress;
        if (await throttle.BlockedForAsync(user.Email, ip) is { } wait)
        {
            Errors["code"] = T["SignIn.Throttled", (int)Math.Ceiling(wait.TotalMinutes)];
            Response.StatusCode = 429;
            return Page();
        }
        if (!await codes.VerifyAsync(user, Code))
        {
            await throttle.FailedAsync(user.Email, ip);
            Errors["code"] = T["TwoFactor.Wrong"];
            Response.StatusCode = 400;
            return Page();
        }
        await HttpContext.SignOutAsync(ConsoleAuth.TwoFactorScheme);
        return await SignInModel.CompleteAsync(HttpContext, users, (await users.FindAsync(user.Id))!, ReturnUrl);
    }

    private async Task<ConsoleUser?> PendingUserAsync()
    {
        var half = await HttpContext.AuthenticateAsync(ConsoleAuth.TwoFactorScheme);
        if (!half.Succeeded || ConsoleUsers.IdOf(half.Principal) is not { } id) return null;
        var user = await users.FindAsync(id);
        return ConsoleUsers.SessionValid(user, half.Principal) && user!.TotpEnabled ? user : null;
    }
}
