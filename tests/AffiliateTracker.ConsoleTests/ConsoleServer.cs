using System.Diagnostics;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Playwright;
using Npgsql;

namespace AffiliateTracker.ConsoleTests;

/// The real server as its own process on 127.0.0.1:15080, with the demo network, against a database of its own
/// (affiliatetracker_console, made anew each run) and the Redis deploy/test.sh starts; and Debian's Chromium
/// driven by Playwright. Shared by every browser test class (one collection), which run one after another.
public sealed class ConsoleServer : IAsyncLifetime
{
    public const int Port = 15080;
    public static readonly string BaseUrl = $"http://127.0.0.1:{Port}";
    public const string DemoPassword = "demo-password";
    /// Conversions sooner than this after their click are flagged too_fast; the walkthrough's visitor waits longer.
    public static readonly TimeSpan MinTimeToConvert = TimeSpan.FromSeconds(2);

    public static string Root { get; } = FindRoot();
    public static string Screenshots { get; } = Path.Combine(Root, ".data", "screenshots");

    private Process? server;
    private readonly System.Text.StringBuilder serverLog = new();
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var postgres = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")
            ?? "Host=127.0.0.1;Port=15432;Username=affiliatetracker;Database=affiliatetracker_test");
        var admin = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = "postgres" };
        await using (var conn = new NpgsqlConnection(admin.ConnectionString))
        {
            await conn.ExecuteAsync("DROP DATABASE IF EXISTS affiliatetracker_console WITH (FORCE)");
            await conn.ExecuteAsync("CREATE DATABASE affiliatetracker_console");
        }
        ConnectionString = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = "affiliatetracker_console" }.ConnectionString;
        var redis = Environment.GetEnvironmentVariable("ConnectionStrings__Redis") ?? "127.0.0.1:16379,defaultDatabase=1";

        var dll = Path.Combine(Root, "src", "AffiliateTracker", "bin", "Release", "net10.0", "AffiliateTracker.dll");
        var start = new ProcessStartInfo("dotnet", [dll, "--urls", BaseUrl]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["ConnectionStrings__Postgres"] = ConnectionString;
        start.Environment["ConnectionStrings__Redis"] = redis;
        start.Environment["Redis__KeyPrefix"] = $"console{Guid.NewGuid():N}:";
        start.Environment["Demo__Enabled"] = "true";
        start.Environment["PublicBaseUrl"] = BaseUrl;
        start.Environment["Secrets__MasterKey"] = Convert.ToBase64String("console-tests-master-key-0123456789abcdef"u8.ToArray());
        start.Environment["Clicks__FlushIdleDelay"] = "00:00:00.050";
        start.Environment["Conversions__MinTimeToConvert"] = MinTimeToConvert.ToString();
        // Browser tests sign in often from one address; the throttle's own tests use their own accounts.
        start.Environment["Console__SignInFailuresPerAddress"] = "1000";
        // The tests stand in for a TLS-terminating proxy on loopback (the Secure cookie test).
        start.Environment["Proxies__Trusted__0"] = "127.0.0.1";
        server = Process.Start(start)!;
        server.OutputDataReceived += (_, e) => { lock (serverLog) serverLog.AppendLine(e.Data); };
        server.ErrorDataReceived += (_, e) => { lock (serverLog) serverLog.AppendLine(e.Data); };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();

        using var http = new HttpClient();
        for (var i = 0; ; i++)
        {
            try
            {
                if ((await http.GetAsync($"{BaseUrl}/account/sign-in")).IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) { }
            if (server.HasExited || i > 120) throw new InvalidOperationException("The server did not start:\n" + ServerLog);
            await Task.Delay(500);
        }

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        // The whole suite runs beside the integration tests on two cores (deploy/test.sh), where a page can take seconds;
        // these bound a failing wait only: a passing one returns as soon as the page is there.
        Assertions.SetDefaultExpectTimeout(20_000);
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("AT_CHROMIUM") ?? "/usr/bin/chromium",
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        Directory.CreateDirectory(Screenshots);
    }

    public string ServerLog { get { lock (serverLog) return serverLog.ToString(); } }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
        if (server is { HasExited: false })
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    /// A fresh browser context (its own cookies) in a language, with one page.
    public async Task<IPage> NewPageAsync(string locale = "en-US", string? userAgent = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl, Locale = locale, ViewportSize = new ViewportSize { Width = 1366, Height = 900 }, UserAgent = userAgent,
        });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    /// A shopper's browser: headless Chromium says "HeadlessChrome", which the tracker rightly takes for a bot.
    public const string ShopperUserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";

    public async Task SignInAsync(IPage page, string email, string password = DemoPassword)
    {
        await page.GotoAsync("/account/sign-in");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        // The form's answer (a redirect home, or the form again with why not), then the page it leads to. Waiting for the
        // load state alone could find the sign-in page still loaded, or give up while a busy server hashed the password.
        var answered = page.WaitForResponseAsync(r => r.Request.Method == "POST" && r.Url.Contains("/account/sign-in"), new() { Timeout = 60_000 });
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await answered;
        await page.WaitForLoadStateAsync(LoadState.Load, new() { Timeout = 60_000 });
    }

    /// axe-core in the page: the serious and critical accessibility violations, described.
    public async Task<List<string>> AccessibilityProblemsAsync(IPage page)
    {
        var axe = Environment.GetEnvironmentVariable("AT_AXE_SCRIPT") is { Length: > 0 } configured ? configured : Path.Combine(Root, ".data", "axe", "axe-4.14.1.min.js");
        if (!File.Exists(axe)) throw new InvalidOperationException($"axe-core not found at {axe} (deploy/browser.sh fetches it)");
        // Evaluated through the DevTools protocol: the page's own policy (no inline script) stays on.
        await page.EvaluateAsync(await File.ReadAllTextAsync(axe));
        var json = await page.EvaluateAsync<string>("async () => JSON.stringify((await axe.run(document, { resultTypes: ['violations'] })).violations)");
        return JsonNode.Parse(json)!.AsArray()
            .Where(v => (string?)v!["impact"] is "serious" or "critical")
            .Select(v => $"{v!["id"]} ({v["impact"]}): {v["help"]} at {string.Join(", ", v["nodes"]!.AsArray().Take(3).Select(n => n!["target"]!.ToJsonString()))}")
            .ToList();
    }

    public async Task ScreenshotAsync(IPage page, string name) =>
        // The first screen of the page, as a person sees it on arriving (the README shows these).
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png") });

    public NpgsqlConnection Db() => new(ConnectionString);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AffiliateTracker.sln"))) return dir.FullName;
        throw new InvalidOperationException("AffiliateTracker.sln not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleServer>
{
    public const string Name = "console";
}
