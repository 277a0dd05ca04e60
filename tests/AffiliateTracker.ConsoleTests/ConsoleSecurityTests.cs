using System.Net;
using System.Text.RegularExpressions;
using Dapper;

namespace AffiliateTracker.ConsoleTests;

/// Sign-in and session rules, over plain HTTP against the running server.
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleSecurityTests(ConsoleServer console)
{
    private static HttpClient Client(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies ?? new CookieContainer(), UseCookies = true })
            { BaseAddress = new Uri(ConsoleServer.BaseUrl) };

    private static string TokenOf(string html) => Regex.Match(html, "name=\"__at_af\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient http, string email, string password, string? returnUrl = null,
        Action<HttpRequestMessage>? extra = null)
    {
        var token = TokenOf(await http.GetStringAsync("/account/sign-in"));
        var form = new Dictionary<string, string> { ["__at_af"] = token, ["Email"] = email, ["Password"] = password };
        if (returnUrl is not null) form["ReturnUrl"] = returnUrl;
        var request = new HttpRequestMessage(HttpMethod.Post, "/account/sign-in") { Content = new FormUrlEncodedContent(form) };
        extra?.Invoke(request);
        return await http.SendAsync(request);
    }

    private async Task<string> NewPublisherUserAsync(string password)
    {
        var email = $"sec-{Guid.NewGuid():N}@publisher.test";
        await using var db = console.Db();
        var bob = await db.QuerySingleAsync<long>("SELECT id FROM publishers WHERE name = 'Bob''s Deals'");
        await AffiliateTracker.Console.Account.ConsoleUsers.CreateAsync(db, null, email, password, "publisher", null, bob);
        return email;
    }

    [Fact]
    public async Task Sign_in_is_throttled_per_account_after_five_failures_with_the_wait_stated()
    {
        var email = await NewPublisherUserAsync("the-right-password");
        var http = Client();
        for (var i = 0; i < 5; i++)
        {
            var wrong = await SignInAsync(http, email, "a-wrong-password");
            Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
            Assert.Contains("email address or password is wrong", await wrong.Content.ReadAsStringAsync());
        }
        // Even the right password now waits: the guesser learns nothing from the answer.
        var blocked = await SignInAsync(Client(), email, "the-right-password");
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.Matches("Too many failed sign-ins. Try again in 1[45] min", await blocked.Content.ReadAsStringAsync());
        Assert.True(int.Parse(blocked.Headers.GetValues("Retry-After").Single()) > 800);
        Assert.DoesNotContain(blocked.Headers.GetValues("Set-Cookie"), c => c.StartsWith("at_session="));
    }

    [Theory]
    [InlineData("https://evil.example/phish", "/publisher")]
    [InlineData("//evil.example/phish", "/publisher")]
    [InlineData("/\\evil.example", "/publisher")]
    [InlineData("/publisher/reports?group=sub1", "/publisher/reports?group=sub1")]
    public async Task After_sign_in_only_a_local_path_is_followed(string returnUrl, string location)
    {
        var email = await NewPublisherUserAsync("return-url-password");
        var response = await SignInAsync(Client(), email, "return-url-password", returnUrl);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(location, response.Headers.Location!.ToString());
    }

    [Fact]
    public async Task The_session_cookie_is_httponly_and_samesite_and_secure_when_the_request_came_over_https()
    {
        var email = await NewPublisherUserAsync("cookie-flags-password");
        var plain = await SignInAsync(Client(), email, "cookie-flags-password");
        var cookie = plain.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("at_session="));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);

        // Through a trusted TLS-terminating proxy (loopback is configured as one for these tests).
        var viaHttps = await SignInAsync(Client(), email, "cookie-flags-password", extra: r => r.Headers.Add("X-Forwarded-Proto", "https"));
        Assert.Contains("secure", viaHttps.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("at_session=")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_form_sent_without_its_antiforgery_token_is_refused()
    {
        var email = await NewPublisherUserAsync("antiforgery-password");
        var http = Client();
        var response = await http.PostAsync("/account/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["Email"] = email, ["Password"] = "antiforgery-password" }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("at_session=")));
    }

    [Fact]
    public async Task Console_pages_allow_no_inline_script_and_are_not_framed()
    {
        var http = Client();
        Assert.Equal(HttpStatusCode.Redirect, (await SignInAsync(http, await NewPublisherUserAsync("headers-password"), "headers-password")).StatusCode);
        var page = await http.GetAsync("/publisher");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self';", csp);
        Assert.DoesNotContain("unsafe-inline", csp.Split(';').Single(d => d.Trim().StartsWith("script-src")));
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.DoesNotMatch("<script>(?!\\s*$)|<script(?![^>]*(src=|type=\"application/json\"))", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Changing_the_password_ends_the_users_other_sessions()
    {
        var email = await NewPublisherUserAsync("first-password-1");
        var laptop = Client();
        var phone = Client();
        await SignInAsync(laptop, email, "first-password-1");
        await SignInAsync(phone, email, "first-password-1");
        Assert.Equal(HttpStatusCode.OK, (await phone.GetAsync("/publisher")).StatusCode);

        var token = TokenOf(await laptop.GetStringAsync("/account/security"));
        var change = await laptop.PostAsync("/account/security?handler=Password", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["__at_af"] = token, ["current"] = "first-password-1", ["password"] = "second-password-2", ["confirm"] = "second-password-2" }));
        Assert.Equal(HttpStatusCode.Redirect, change.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await laptop.GetAsync("/publisher")).StatusCode);
        var ended = await phone.GetAsync("/publisher");
        Assert.Equal(HttpStatusCode.Redirect, ended.StatusCode);
        Assert.Contains("/account/sign-in", ended.Headers.Location!.ToString());
    }

    [Fact]
    public async Task An_invitation_link_creates_the_user_once()
    {
        var admin = Client();
        await SignInAsync(admin, "admin@demo.test", ConsoleServer.DemoPassword);
        var email = $"invited-{Guid.NewGuid():N}@advertiser.test";
        string advertiserId;
        await using (var db = console.Db()) advertiserId = (await db.QuerySingleAsync<long>("SELECT id FROM advertisers WHERE name = 'Demo Shop'")).ToString();
        var token = TokenOf(await admin.GetStringAsync("/admin/users"));
        var invited = await admin.PostAsync("/admin/users?handler=Invite", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["__at_af"] = token, ["email"] = email, ["role"] = "advertiser", ["advertiserId"] = advertiserId }));
        var link = Regex.Match(await invited.Content.ReadAsStringAsync(), "id=\"invite-link\" type=\"text\" readonly value=\"([^\"]+)\"").Groups[1].Value;
        Assert.StartsWith($"{ConsoleServer.BaseUrl}/account/invitation/", link);

        var person = Client();
        var form = await person.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        var accept = await person.PostAsync(link, new FormUrlEncodedContent(new Dictionary<string, string>
            { ["__at_af"] = TokenOf(await form.Content.ReadAsStringAsync()), ["password"] = "invited-password", ["confirm"] = "invited-password" }));
        Assert.Equal(HttpStatusCode.Redirect, accept.StatusCode);
        Assert.Equal("/advertiser", accept.Headers.Location!.ToString());
        Assert.Equal(HttpStatusCode.OK, (await person.GetAsync("/advertiser")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Client().GetAsync(link)).StatusCode);
    }

    [Fact]
    public async Task A_publishers_report_downloads_as_csv_with_their_own_clicks_only()
    {
        var http = Client();
        await SignInAsync(http, "alice@demo.test", ConsoleServer.DemoPassword);
        var from = DateTime.UtcNow.Date.AddDays(-13);
        var response = await http.GetAsync($"/publisher/reports?From={from:yyyy-MM-dd}&To={DateTime.UtcNow:yyyy-MM-dd}&Tz=UTC&Group=offer&format=csv");
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("offer_id,clicks,unique_clicks,conversions,pending,approved,rejected,cr,epc,payout,cost,profit,roi", lines[0]);
        var clicks = lines.Skip(1).Sum(l => long.Parse(l.Split(',')[1]));
        await using var db = console.Db();
        var expected = await db.QuerySingleAsync<long>("""
            SELECT coalesce(sum(r.clicks), 0) FROM click_rollup_hour r JOIN publishers p ON p.id = r.publisher_id
            WHERE p.name = 'Alice''s Blog' AND r.hour >= @from
            """, new { from });
        Assert.True(expected > 0);
        Assert.Equal(expected, clicks);
    }
}
