using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace AffiliateTracker.Console.Account;

public sealed class SignOutModel : ConsolePage
{
    public IActionResult OnGet() => Redirect("/");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(ConsoleAuth.Scheme);
        return Redirect(ConsoleAuth.SignInPath);
    }
}
