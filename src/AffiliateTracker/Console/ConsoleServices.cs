using AffiliateTracker.Console.Account;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace AffiliateTracker.Console;

/// The web console: Razor Pages for people (Console/Account, Publisher, Advertiser, Admin), rendered on the
/// server, reading through the same role-scoped queries as the API. Its scripts, styles and the chart library
/// are embedded in the assembly and served from /console/assets: no CDN, no Node build.
public static class ConsoleServices
{
    public const string AssetsPath = "/console/assets";

    public static IServiceCollection AddConsole(this IServiceCollection services, IConfiguration config)
    {
        services.AddRazorPages(o =>
        {
            o.RootDirectory = "/Console";
            o.Conventions.AuthorizeFolder("/Publisher", ConsoleAuth.Publisher);
            o.Conventions.AuthorizeFolder("/Advertiser", ConsoleAuth.Advertiser);
            o.Conventions.AuthorizeFolder("/Admin", ConsoleAuth.Admin);
            o.Conventions.AuthorizeFolder("/Account", ConsoleAuth.Signed);
            foreach (var open in new[] { "/Account/SignIn", "/Account/TwoFactor", "/Account/SignUp", "/Account/Invitation", "/Account/Denied", "/Account/Language" })
                o.Conventions.AllowAnonymousToPage(open);
        });
        services.AddRouting(o => o.LowercaseUrls = true);
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "at_af";
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__at_af";
        });
        // An uploaded report is streamed line by line; this bounds what a form may send at all.
        services.Configure<FormOptions>(o => o.MultipartBodyLengthLimit = 50 * 1024 * 1024);
        services.AddConsoleAuth();
        // One key ring for every instance, so a session works whichever instance the balancer picks.
        services.AddSharedKeyRing(config);
        services.AddSingleton<ConsoleUsers>();
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton<TwoFactorCodes>();
        services.AddSingleton<Shared.StatusChanges>();
        services.AddScoped(sp => Text.For(sp.GetRequiredService<IHttpContextAccessor>().HttpContext!));
        services.AddHttpContextAccessor();
        return services;
    }

    public static void MapConsole(this WebApplication app)
    {
        // `/` takes a signed-in person to their home and anyone else to sign-in.
        app.MapGet("/", async (HttpContext http) =>
        {
            var session = await http.AuthenticateAsync(ConsoleAuth.Scheme);
            var role = session.Succeeded ? session.Principal!.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value : null;
            return Results.Redirect(role is null ? ConsoleAuth.SignInPath : ConsoleAuth.Home(role));
        }).ExcludeFromDescription();
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new EmbeddedFileProvider(typeof(ConsoleServices).Assembly, "ConsoleAssets"),
            RequestPath = AssetsPath,
            // Links carry the assembly's version (?v=), so a release changes every asset's address.
            OnPrepareResponse = c => c.Context.Response.Headers[HeaderNames.CacheControl] = "public, max-age=31536000, immutable",
        });
        app.MapRazorPages();
    }

    /// Appended to asset links so a new build is fetched at once despite the long cache lifetime.
    public static readonly string AssetVersion = typeof(ConsoleServices).Assembly.ManifestModule.ModuleVersionId.ToString("N")[..8];
}
