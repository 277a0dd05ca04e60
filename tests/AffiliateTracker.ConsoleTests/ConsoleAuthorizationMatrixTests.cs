using System.Net;
using System.Text.RegularExpressions;
using Dapper;
using Xunit.Abstractions;

namespace AffiliateTracker.ConsoleTests;

/// Every console page and form handler, called by every kind of person: the admin, the owning and another
/// advertiser, the owning and another publisher, someone signed out, and a user disabled while signed in.
/// A page or handler without a row fails; no answer shows another owner's data.
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleAuthorizationMatrixTests(ConsoleServer console, ITestOutputHelper output)
{
    public enum Who { Admin, Advertiser, OtherAdvertiser, Publisher, OtherPublisher, SignedOut, Disabled }
    private static readonly Who[] Everyone = Enum.GetValues<Who>();

    /// A page (GET) or a form handler (POST path?handler=Name) with a harmless form, and what each person gets:
    /// "ok" (the page or the handler's own answer: 2xx, a redirect within the console, a 400/409 about the input),
    /// "404" (not theirs), "403", "denied" (another role's page), "signin" (no valid session).
    public sealed record Row(string Route, string Handler, string Path, Dictionary<string, string>? Form, string Expected)
    {
        public string[] ExpectedByWho => Expected.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        public override string ToString() => Handler.Length == 0 ? $"GET {Path}" : $"POST {Path} ({Handler})";
    }

    // Who:                                  admin  adv    adv2   pub    pub2   out    disabled
    private const string Public = /*     */ "ok     ok     ok     ok     ok     ok     ok";
    private const string Signed = /*     */ "ok     ok     ok     ok     ok     signin signin";
    private const string AdminOnly = /*  */ "ok     denied denied denied denied signin signin";
    private const string AdvertiserOnly = "denied ok     ok     denied denied signin signin";
    private const string PublisherOnly = "denied denied denied ok     ok     signin signin";

    private static Row Get(string route, string expected, string? path = null) => new(route, "", path ?? route, null, expected);
    /// A GET handler (a download): ?handler=Name and its query.
    private static Row GetHandler(string route, string handler, string expected, string query) =>
        new(route, handler, $"{route}?handler={handler}&{query}", null, expected);
    private static Row Post(string route, string handler, string expected, string? path = null, params string[] form) =>
        new(route, handler, (path ?? route) + (handler.Length > 0 && handler != "-" ? $"?handler={handler}" : ""),
            form.Select(f => f.Split('=', 2)).ToDictionary(p => p[0], p => p[1]), expected);

    public static Row[] Rows(long reconciliationId) =>
    [
        Get("/account/sign-in", Public),
        Post("/account/sign-in", "-", Public, null, "Email=nobody@matrix.test", "Password=not-the-password"),
        Get("/account/sign-up", Public),
        Post("/account/sign-up", "-", Public, null, "Company=", "Email=bad"),
        Get("/account/two-factor", "signin signin signin signin signin signin signin"),
        // The disabled user's form token belonged to the session that ended: refused (400) before the page runs.
        Post("/account/two-factor", "-", "signin signin signin signin signin signin ok", null, "Code=000000"),
        Get("/account/invitation/{token}", "404 404 404 404 404 404 404", "/account/invitation/not-a-real-invitation-token"),
        Post("/account/invitation/{token}", "-", "404 404 404 404 404 404 ok", "/account/invitation/not-a-real-invitation-token", "password=whatever-long", "confirm=whatever-long"),
        Get("/account/denied", "403 403 403 403 403 403 403"),
        Get("/account/language", Public),
        Post("/account/language", "-", Public, null, "language=en", "returnUrl=/"),
        Get("/account/security", Signed),
        Post("/account/security", "Password", Signed, null, "current=wrong", "password=x", "confirm=y"),
        Post("/account/security", "BeginTwoFactor", Signed),
        Post("/account/security", "ConfirmTwoFactor", Signed, null, "code=000000"),
        Post("/account/security", "DisableTwoFactor", "403    ok     ok     ok     ok     signin signin", null, "code=000000"),
        Get("/account/api-keys", Signed),
        Post("/account/api-keys", "Issue", Signed, null, "name=matrix"),
        Post("/account/api-keys", "Revoke", "404 404 404 404 404 signin signin", null, "id=0"),
        Get("/account/sign-out", Signed),

        Get("/publisher", PublisherOnly),
        Get("/publisher/offers", PublisherOnly),
        Post("/publisher/offers", "Request", "denied denied denied 404 404 signin signin", null, "offerId=0"),
        Get("/publisher/links", PublisherOnly),
        Post("/publisher/links", "-", PublisherOnly, null, "OfferId=0"),
        Get("/publisher/reports", PublisherOnly),
        Get("/publisher/conversions", PublisherOnly),
        Get("/publisher/payments", PublisherOnly),
        Get("/publisher/postback", PublisherOnly),
        Post("/publisher/postback", "Save", PublisherOnly, null, "Url=not a url"),
        Post("/publisher/postback", "Test", PublisherOnly),
        Get("/publisher/smart-links/{id:long?}", PublisherOnly, "/publisher/smart-links"),
        Get("/publisher/smart-links/{id:long?}", "denied denied denied 404 404 signin signin", "/publisher/smart-links/999999"),
        Post("/publisher/smart-links/{id:long?}", "-", PublisherOnly, "/publisher/smart-links", "Name=", "FallbackUrl=javascript:x"),
        Get("/publisher/materials", PublisherOnly),
        Get("/publisher/costs", PublisherOnly),
        Post("/publisher/costs", "-", PublisherOnly),
        GetHandler("/publisher/materials", "Download", "denied denied denied 404 404 signin signin", "feed=0"),

        Get("/advertiser", AdvertiserOnly),
        Get("/advertiser/conversions", AdvertiserOnly),
        Post("/advertiser/conversions", "Status", AdvertiserOnly, null, "reason=matrix", "status=approved"),
        Get("/advertiser/postback", AdvertiserOnly),
        Post("/advertiser/postback", "Token", AdvertiserOnly),
        Post("/advertiser/postback", "SigningKey", AdvertiserOnly),
        Get("/advertiser/reconciliations/{id:long?}", AdvertiserOnly, "/advertiser/reconciliations"),
        Get("/advertiser/reconciliations/{id:long?}", "denied ok     404    denied denied signin signin", $"/advertiser/reconciliations/{reconciliationId}"),
        Post("/advertiser/reconciliations/{id:long?}", "Upload", AdvertiserOnly, "/advertiser/reconciliations"),
        Post("/advertiser/reconciliations/{id:long?}", "Submit", "denied ok 404 denied denied signin signin", $"/advertiser/reconciliations/{reconciliationId}"),
        Post("/advertiser/reconciliations/{id:long?}", "Apply", "denied 403 403 denied denied signin signin", $"/advertiser/reconciliations/{reconciliationId}"),
        .. MaterialsRows("/advertiser/materials", AdvertiserOnly, "denied ok 404 denied denied signin signin", "denied 404 404 denied denied signin signin"),
        .. MaterialsRows("/admin/materials", AdminOnly, AdminOnly, "404 denied denied denied denied signin signin"),

        Get("/admin", AdminOnly),
        Post("/admin", "Ledger", AdminOnly),
        Get("/admin/reports", AdminOnly),
        Get("/admin/offers", AdminOnly),
        Get("/admin/offers/{id}", AdminOnly, "/admin/offers/1"),
        Get("/admin/offers/{id}", "404 denied denied denied denied signin signin", "/admin/offers/999999"),
        Post("/admin/offers/{id}", "-", "404 denied denied denied denied signin signin", "/admin/offers/999999", "Form.Name=x"),
        Post("/admin/offers/{id}", "Goal", "404 denied denied denied denied signin signin", "/admin/offers/999999", "code=sale"),
        Post("/admin/offers/{id}", "Grant", "404 denied denied denied denied signin signin", "/admin/offers/999999", "publisherId=1"),
        Post("/admin/offers/{id}", "Revoke", "404 denied denied denied denied signin signin", "/admin/offers/999999", "publisherId=1"),
        Get("/admin/advertisers", AdminOnly),
        Post("/admin/advertisers", "Create", AdminOnly, null, "name="),
        Post("/admin/advertisers", "Status", "404 denied denied denied denied signin signin", null, "id=0", "status=active"),
        Get("/admin/publishers", AdminOnly),
        Post("/admin/publishers", "Status", "404 denied denied denied denied signin signin", null, "id=0", "status=active"),
        Post("/admin/publishers", "MinPayout", "404 denied denied denied denied signin signin", null, "id=0", "minPayout=1"),
        Get("/admin/access-requests", AdminOnly),
        Post("/admin/access-requests", "Decide", "404 denied denied denied denied signin signin", null, "id=0", "decision=approve"),
        Get("/admin/review", AdminOnly),
        Post("/admin/review", "Status", AdminOnly, null, "reason=matrix", "status=approved"),
        Get("/admin/payouts", AdminOnly),
        Post("/admin/payouts", "Create", AdminOnly, null, "periodEnd=2001-01-01T00:00"),
        Get("/admin/payouts/{id:long}", AdminOnly, "/admin/payouts/1"),
        Post("/admin/payouts/{id:long}", "Approve", "404 denied denied denied denied signin signin", "/admin/payouts/999999"),
        Post("/admin/payouts/{id:long}", "Cancel", "404 denied denied denied denied signin signin", "/admin/payouts/999999"),
        Post("/admin/payouts/{id:long}", "Paid", "404 denied denied denied denied signin signin", "/admin/payouts/999999", "lineId=0", "reference=matrix"),
        Get("/admin/reconciliations/{id:long?}", AdminOnly, "/admin/reconciliations"),
        Get("/admin/reconciliations/{id:long?}", AdminOnly, $"/admin/reconciliations/{reconciliationId}"),
        Post("/admin/reconciliations/{id:long?}", "Upload", AdminOnly, "/admin/reconciliations"),
        Post("/admin/reconciliations/{id:long?}", "Submit", "404 denied denied denied denied signin signin", "/admin/reconciliations/999999"),
        Post("/admin/reconciliations/{id:long?}", "Apply", "404 denied denied denied denied signin signin", "/admin/reconciliations/999999"),
        Get("/admin/users", AdminOnly),
        Post("/admin/users", "Invite", AdminOnly, null, "email=not-an-email", "role=publisher"),
        Post("/admin/users", "Status", "404 denied denied denied denied signin signin", null, "id=0", "status=active"),
        Post("/admin/users", "ResetTwoFactor", "404 denied denied denied denied signin signin", null, "id=0"),
        Get("/admin/api-keys", AdminOnly),
        Post("/admin/api-keys", "Issue", AdminOnly, null, "role=publisher", "name=matrix"),
        Post("/admin/api-keys", "Revoke", "404 denied denied denied denied signin signin", null, "id=0"),
        Get("/admin/currency-rates", AdminOnly),
        Post("/admin/currency-rates", "-", AdminOnly, null, "from=", "to=", "rate="),

        // Last: it ends the session.
        Post("/account/sign-out", "-", "signin signin signin signin signin signin signin"),
    ];

    /// An offer's promotional material (Shared/MaterialsPage): `ownOffer` for forms that need an offer of the
    /// caller's (another advertiser has none: 404), `none` for actions on a creative or feed that does not exist.
    private static Row[] MaterialsRows(string route, string page, string ownOffer, string none) =>
    [
        Get(route, page),
        Post(route, "Image", ownOffer, null, "name=matrix"),
        Post(route, "Snippet", ownOffer, null, "kind=text", "name=", "body="),
        Post(route, "Archive", none, null, "creativeId=0"),
        Post(route, "Feed", ownOffer, null, "name="),
        Post(route, "Upload", page, null, "feedId=0"),
        Post(route, "Fetch", none, null, "feedId=0"),
        Post(route, "ArchiveFeed", none, null, "feedId=0"),
        GetHandler(route, "Download", none, "feed=0"),
    ];

    [Fact]
    public void Every_console_page_and_form_handler_has_a_row()
    {
        var covered = Rows(0).Select(r => (r.Route, Handler: r.Handler == "-" ? "" : r.Handler, Post: r.Form is not null)).ToHashSet();
        var missing = new List<string>();
        foreach (var (route, handlers) in DiscoverPages())
        {
            if (!covered.Contains((route, "", false))) missing.Add($"GET {route}");
            foreach (var h in handlers)
                if (h.StartsWith("GET ") ? !covered.Contains((route, h[4..], false)) : !covered.Contains((route, h, true)))
                    missing.Add(h.StartsWith("GET ") ? $"GET {route} handler '{h[4..]}'" : $"POST {route} handler '{h}'");
        }
        Assert.Empty(missing);
    }

    [Fact]
    public async Task Each_person_reaches_only_their_own_pages_and_data()
    {
        var callers = await CallersAsync();
        long reconciliationId;
        await using (var db = console.Db())
            reconciliationId = await db.ExecuteScalarAsync<long>("""
                INSERT INTO reconciliations (advertiser_id, uploaded_by, created_at) SELECT id, 'matrix', now() FROM advertisers WHERE name = 'Demo Shop' RETURNING id
                """);
        var rows = Rows(reconciliationId);
        var failures = new List<string>();
        var leaks = new List<string>();
        var calls = 0;
        foreach (var row in rows)
            foreach (var who in Everyone)
            {
                var (outcome, body) = await CallAsync(callers[who], row);
                calls++;
                var expected = row.ExpectedByWho[(int)who];
                if (outcome != expected) failures.Add($"{row} as {who}: expected {expected}, got {outcome}");
                foreach (var secret in Forbidden(who))
                    if (body.Contains(secret, StringComparison.Ordinal) || body.Contains(WebUtility.HtmlEncode(secret), StringComparison.Ordinal))
                        leaks.Add($"{row} as {who} shows \"{secret}\"");
            }
        output.WriteLine($"console authorization matrix: {rows.Length} pages and handlers x {Everyone.Length} callers = {calls} calls, " +
            $"{DiscoverPages().Count} pages; {failures.Count} wrong, {leaks.Count} leaks");
        foreach (var line in failures.Concat(leaks)) output.WriteLine(line);
        Assert.Empty(failures);
        Assert.Empty(leaks);
    }

    /// What must never appear in an answer to this person: the other owner's name.
    private static string[] Forbidden(Who who) => who switch
    {
        Who.Publisher => ["Bob's Deals"],
        Who.OtherPublisher => ["Alice's Blog"],
        Who.OtherAdvertiser => ["Demo Shop", "Alice's Blog", "Bob's Deals"],
        Who.Advertiser => ["Matrix Other Advertiser"],
        Who.SignedOut or Who.Disabled => ["Demo Shop", "Alice's Blog", "Bob's Deals"],
        _ => [],
    };

    private sealed record Session(HttpClient Http, string Token);

    private async Task<Dictionary<Who, Session>> CallersAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        string otherAdvertiser = $"matrix-adv-{suffix}@matrix.test", disabled = $"matrix-disabled-{suffix}@matrix.test";
        await using (var db = console.Db())
        {
            var advertiserId = await db.QuerySingleOrDefaultAsync<long?>("SELECT id FROM advertisers WHERE name = 'Matrix Other Advertiser'")
                ?? await db.ExecuteScalarAsync<long>("INSERT INTO advertisers (name) VALUES ('Matrix Other Advertiser') RETURNING id");
            await AffiliateTracker.Console.Account.ConsoleUsers.CreateAsync(db, null, otherAdvertiser, "matrix-password", "advertiser", advertiserId, null);
            var alice = await db.QuerySingleAsync<long>("SELECT id FROM publishers WHERE name = 'Alice''s Blog'");
            await AffiliateTracker.Console.Account.ConsoleUsers.CreateAsync(db, null, disabled, "matrix-password", "publisher", null, alice);
        }
        var callers = new Dictionary<Who, Session>
        {
            [Who.Admin] = await SessionAsync("admin@demo.test", ConsoleServer.DemoPassword),
            [Who.Advertiser] = await SessionAsync("shop@demo.test", ConsoleServer.DemoPassword),
            [Who.OtherAdvertiser] = await SessionAsync(otherAdvertiser, "matrix-password"),
            [Who.Publisher] = await SessionAsync("alice@demo.test", ConsoleServer.DemoPassword),
            [Who.OtherPublisher] = await SessionAsync("bob@demo.test", ConsoleServer.DemoPassword),
            [Who.SignedOut] = await SessionAsync(null, null),
            [Who.Disabled] = await SessionAsync(disabled, "matrix-password"),
        };
        // Disabled while signed in: the session it holds must stop working at once.
        await using (var db = console.Db())
            await db.ExecuteAsync("UPDATE users SET status = 'disabled', security_stamp = gen_random_uuid() WHERE email = @disabled", new { disabled });
        return callers;
    }

    private static async Task<Session> SessionAsync(string? email, string? password)
    {
        var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() })
            { BaseAddress = new Uri(ConsoleServer.BaseUrl) };
        var token = TokenOf(await http.GetStringAsync("/account/sign-in"));
        if (email is null) return new Session(http, token);
        var signIn = await http.PostAsync("/account/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["__at_af"] = token, ["Email"] = email, ["Password"] = password! }));
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        // The form token belongs to the signed-in user.
        return new Session(http, TokenOf(await http.GetStringAsync("/account/security")));
    }

    private static string TokenOf(string html) => Regex.Match(html, "name=\"__at_af\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;

    private static async Task<(string Outcome, string Body)> CallAsync(Session session, Row row)
    {
        HttpResponseMessage response;
        if (row.Form is null) response = await session.Http.GetAsync(row.Path);
        else
        {
            var form = new Dictionary<string, string>(row.Form) { ["__at_af"] = session.Token };
            response = await session.Http.PostAsync(row.Path, new FormUrlEncodedContent(form));
        }
        var body = await response.Content.ReadAsStringAsync();
        var status = (int)response.StatusCode;
        var location = response.Headers.Location?.ToString() ?? "";
        var outcome = status switch
        {
            302 when location.Contains("/account/denied") => "denied",
            302 when location.Contains("/account/sign-in") => "signin",
            404 => "404",
            403 => "403",
            >= 200 and < 400 or 400 or 409 or 429 => "ok",
            _ => $"{status}",
        };
        return (outcome, body);
    }

    /// Every page of the console from its source: its @page route and the names of its POST handlers (its own and
    /// those of a shared base page).
    public static List<(string Route, List<string> Handlers)> DiscoverPages()
    {
        var root = Path.Combine(ConsoleServer.Root, "src", "AffiliateTracker", "Console");
        var pages = new List<(string, List<string>)>();
        foreach (var view in Directory.EnumerateFiles(root, "*.cshtml", SearchOption.AllDirectories))
        {
            var route = Regex.Match(File.ReadAllText(view), "@page \"([^\"]+)\"");
            if (!route.Success) continue;
            var code = File.Exists(view + ".cs") ? File.ReadAllText(view + ".cs") : "";
            var baseClass = Regex.Match(code, @":\s*Shared\.(\w+)\(");
            if (baseClass.Success) code += File.ReadAllText(Path.Combine(root, "Shared", baseClass.Groups[1].Value + ".cs"));
            var handlers = Regex.Matches(code, @"OnPost(\w*?)Async\(").Select(m => m.Groups[1].Value)
                .Concat(Regex.Matches(code, @"OnGet(\w+?)Async\(").Select(m => "GET " + m.Groups[1].Value)).Distinct().ToList();
            pages.Add((route.Groups[1].Value, handlers));
        }
        return pages;
    }
}
