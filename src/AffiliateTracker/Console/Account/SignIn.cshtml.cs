using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace AffiliateTracker.Console.Account;

public sealed class SignInModel(ConsoleUsers users, SignInThrottle throttle) : ConsolePage
{
    [BindProperty] public string? Email { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync()
    {
        var email = ConsoleUsers.NormalizeEmail(Email ?? "");
        if (email.Length == 0 || email.Length > 254) Errors["email"] = T["SignIn.EmailRequired"];
        if (string.IsNullOrEmpty(Password) || Password.Length > 200) Errors["password"] = T["SignIn.PasswordRequired"];
        if (Errors.Count > 0) { Response.StatusCode = 400; return Page(); }

        var ip = HttpContext.Connection.RemoteIpAddress;
        if (await throttle.BlockedForAsync(email, ip) is { } wait)
        {
            Errors[""] = T["SignIn.Throttled", (int)Math.Ceiling(wait.TotalMinutes)];
            Response.StatusCode = 429;
            Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString();
            return Page();
        }
        var user = await users.FindByEmailAsync(email);
        if (user is null || !ConsoleUsers.PasswordMatches(user, Password!))
        {
            await throttle.FailedAsync(email, ip);
            Errors[""] = T["SignIn.Wrong"];
            Response.StatusCode = 400;
            return Page();
        }
        if (user.Status != "active" || user.OwnerStatus != "active")
        {
            Errors[""] = user.OwnerStatus == "pending" ? T["SignIn.Pending"] : T["SignIn.Disabled"];
            Response.StatusCode = 403;
            return Page();
        }
        await throttle.SucceededAsync(email);
        if (user.TotpEnabled)
        {
            // Half-way: the password was right; the second factor decides (TwoFactor.cshtml).
            await HttpContext.SignInAsync(ConsoleAuth.TwoFactorScheme, ConsoleUsers.Principal(user, ConsoleAuth.TwoFactorScheme));
            return Redirect("/account/two-factor" + (ConsoleAuth.IsLocalPath(ReturnUrl) ? "?returnUrl=" + Uri.EscapeDataString(ReturnUrl!) : ""));
        }
        return await CompleteAsync(HttpContext, users, user, ReturnUrl);
    }

    /// The session starts: the cookie, the user's language, and on to where they were going (a local path only).
    public static async Task<IActionResult> CompleteAsync(HttpContext http, ConsoleUsers users, ConsoleUser user, string? returnUrl)
    {
        await http.SignInAsync(ConsoleAuth.Scheme, ConsoleUsers.Principal(user, ConsoleAuth.Scheme));
        await users.SignedInAsync(user.Id);
        LanguageModel.Remember(http, user.Language);
        return new RedirectResult(ConsoleAuth.IsLocalPath(returnUrl) ? returnUrl! : ConsoleAuth.Home(user.Role));
    }
}
