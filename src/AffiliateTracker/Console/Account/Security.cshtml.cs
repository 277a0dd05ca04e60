using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace AffiliateTracker.Console.Account;

/// The user's own password and second factor. Each change ends every other session (a new security stamp);
/// this one continues with a fresh cookie.
public sealed class SecurityModel(ConsoleUsers users, TwoFactorCodes codes) : ConsolePage
{
    public string? SetupSecret { get; private set; }

    public async Task OnGetAsync()
    {
        // A set-up begun and not confirmed shows its code again.
        if (CurrentUser is { TotpEnabled: false, TotpSecret: { } secret }) SetupSecret = secret;
        await Task.CompletedTask;
    }

    public async Task<IActionResult> OnPostPasswordAsync(string? current, string? password, string? confirm)
    {
        var user = CurrentUser!;
        if (string.IsNullOrEmpty(current) || !ConsoleUsers.PasswordMatches(user, current))
            return Refuse("current", T["Security.WrongCurrent"]);
        try
        {
            ConsoleUsers.ValidPassword(password, user.Email);
        }
        catch (ApiException e) { return Refused(e); }
        if (password != confirm) return Refuse("confirm", T["Security.Mismatch"]);
        await users.SetPasswordAsync(user.Id, password!);
        await RenewSessionAsync(user.Id);
        Notice(T["Security.PasswordChanged"]);
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostBeginTwoFactorAsync()
    {
        await codes.BeginAsync(CurrentUser!.Id);
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostConfirmTwoFactorAsync(string? code)
    {
        var user = CurrentUser!;
        if (!await codes.ConfirmAsync(user, code))
        {
            SetupSecret = user.TotpSecret;
            return Refuse("code", T["TwoFactor.Wrong"]);
        }
        await RenewSessionAsync(user.Id);
        Notice(T["Security.TwoFactorOn"]);
        return RedirectToPage();
    }

    /// Admins keep their second factor once it is on (another admin can reset it); others may turn it off with a code.
    public async Task<IActionResult> OnPostDisableTwoFactorAsync(string? code)
    {
        var user = CurrentUser!;
        if (user.Role == Roles.Admin) return Refuse("", T["Security.AdminKeepsTwoFactor"], 403);
        if (!TwoFactorCodes.Matches(user.TotpSecret, code, out _)) return Refuse("disable-code", T["TwoFactor.Wrong"]);
        await codes.DisableAsync(user.Id);
        await RenewSessionAsync(user.Id);
        Notice(T["Security.TwoFactorOff"]);
        return RedirectToPage();
    }

    private async Task RenewSessionAsync(long id) =>
        await HttpContext.SignInAsync(ConsoleAuth.Scheme, ConsoleUsers.Principal((await users.FindAsync(id))!, ConsoleAuth.Scheme));
}
