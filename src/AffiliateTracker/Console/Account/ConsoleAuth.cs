using AffiliateTracker.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;

namespace AffiliateTracker.Console.Account;

/// Console sessions: a cookie for people (API keys stay for machines, and the API takes only keys, so a
/// cookie can never drive it from another site). A second, short-lived cookie carries a user between the
/// password and the second factor.
public static class ConsoleAuth
{
    public const string Scheme = "Console", TwoFactorScheme = "ConsoleTwoFactor";
    public const string Signed = "console", Admin = "console-admin", Advertiser = "console-advertiser", Publisher = "console-publisher";
    public const string SignInPath = "/account/sign-in";

    public static void AddConsoleAuth(this IServiceCollection services)
    {
        services.AddAuthentication()
            .AddCookie(Scheme, o =>
            {
                o.Cookie.Name = "at_session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                // Secure whenever the request came over HTTPS, directly or through a trusted proxy (Http/TrustedProxies.cs).
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.LoginPath = SignInPath;
                o.LogoutPath = "/account/sign-out";
                o.AccessDeniedPath = "/account/denied";
                o.ReturnUrlParameter = "returnUrl";
                o.ExpireTimeSpan = TimeSpan.FromHours(12);
                o.SlidingExpiration = true;
                // Every request re-reads the user: disabling them, changing their password or suspending their
                // advertiser or publisher ends the session at once, not when the cookie expires.
                o.Events.OnValidatePrincipal = async context =>
                {
                    var id = ConsoleUsers.IdOf(context.Principal!);
                    var user = id is null ? null : await context.HttpContext.RequestServices.GetRequiredService<ConsoleUsers>().FindAsync(id.Value);
                    if (!ConsoleUsers.SessionValid(user, context.Principal!))
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(Scheme);
                        return;
                    }
                    context.HttpContext.Items[typeof(ConsoleUser)] = user;
                };
            })
            .AddCookie(TwoFactorScheme, o =>
            {
                o.Cookie.Name = "at_2fa";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.Cookie.Path = "/account";
                o.ExpireTimeSpan = TimeSpan.FromMinutes(5);
                o.SlidingExpiration = false;
                o.LoginPath = SignInPath;
            });
        services.AddAuthorization(o =>
        {
            AuthorizationPolicy Policy(params string[] roles)
            {
                var b = new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser();
                if (roles.Length > 0) b.RequireRole(roles);
                return b.Build();
            }
            o.AddPolicy(Signed, Policy());
            o.AddPolicy(Admin, Policy(Roles.Admin));
            o.AddPolicy(Advertiser, Policy(Roles.Advertiser));
            o.AddPolicy(Publisher, Policy(Roles.Publisher));
        });
    }

    /// The signed-in user of this request (read once, by the session check).
    public static ConsoleUser? CurrentUser(this HttpContext http) => http.Items[typeof(ConsoleUser)] as ConsoleUser;

    /// Where a role starts.
    public static string Home(string role) => role switch
    {
        Roles.Admin => "/admin",
        Roles.Advertiser => "/advertiser",
        _ => "/publisher",
    };

    /// Only a path on this site may follow sign-in: never another host, a scheme, or "//host".
    public static bool IsLocalPath(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
        && !url.Contains('\\') && !url.Any(char.IsControl);
}
