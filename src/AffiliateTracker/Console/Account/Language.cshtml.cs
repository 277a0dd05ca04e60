using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace AffiliateTracker.Console.Account;

/// The language switcher on every page: remembered in a cookie, and on the user's account when signed in.
public sealed class LanguageModel(ConsoleUsers users) : ConsolePage
{
    public IActionResult OnGet() => Redirect("/");

    public async Task<IActionResult> OnPostAsync(string? language, string? returnUrl)
    {
        if (!Text.IsLanguage(language)) return BadRequest();
        Remember(HttpContext, language!);
        var session = await HttpContext.AuthenticateAsync(ConsoleAuth.Scheme);
        if (session.Succeeded && ConsoleUsers.IdOf(session.Principal!) is { } id) await users.SetLanguageAsync(id, language!);
        return Redirect(ConsoleAuth.IsLocalPath(returnUrl) ? returnUrl! : "/");
    }

    public static void Remember(HttpContext http, string language) =>
        http.Response.Cookies.Append(Text.Cookie, language, new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = http.Request.IsHttps, MaxAge = TimeSpan.FromDays(365), IsEssential = true,
        });
}
