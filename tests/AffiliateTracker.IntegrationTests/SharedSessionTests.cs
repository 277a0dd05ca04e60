using System.Net;
using System.Text.RegularExpressions;
using AffiliateTracker.Console.Account;

namespace AffiliateTracker.IntegrationTests;

/// Behind a load balancer each request may reach another instance: a console session signed in on one must be
/// honoured by the others (and by an instance started later, as after a rolling deploy).
public sealed partial class SharedSessionTests
{
    [Fact]
    public async Task A_console_session_signed_in_on_one_instance_is_honoured_by_another()
    {
        await using var first = new TrackerApp();
        await using var second = new TrackerApp();
        var n = await first.CreateNetworkAsync();
        var email = $"shared-{Guid.NewGuid():N}@example.test";
        await using (var conn = await TrackerApp.DbAsync())
            await ConsoleUsers.CreateAsync(conn, null, email, "correct horse battery staple", "publisher", null, n.PublisherId);

        var cookies = new CookieContainer();
        var onFirst = Client(first, cookies);
        var form = await onFirst.GetStringAsync("/account/sign-in");
        var token = AntiforgeryField().Match(form).Groups[1].Value;
        var signIn = await onFirst.PostAsync("/account/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Email"] = email, ["Password"] = "correct horse battery staple", ["__at_af"] = token,
        }));
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);

        // The same cookies, the other instance: the publisher's home page, not the sign-in page.
        var home = await Client(second, cookies).GetAsync("/publisher");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Contains(email, await home.Content.ReadAsStringAsync());

        // The ring both used is in PostgreSQL, and encrypted there: a database backup alone cannot forge a session.
        await using var db = await TrackerApp.DbAsync();
        var ring = (await Dapper.SqlMapper.QueryAsync<string>(db, "SELECT xml FROM data_protection_keys")).ToList();
        Assert.NotEmpty(ring);
        Assert.All(ring, xml => Assert.DoesNotContain("<masterKey", xml));
    }

    private static HttpClient Client(TrackerApp app, CookieContainer cookies) =>
        app.CreateDefaultClient(new Uri("http://tracker.test"), new CookieHandler(cookies));

    [GeneratedRegex("name=\"__at_af\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    /// TestServer's client keeps no cookies by itself.
    private sealed class CookieHandler(CookieContainer cookies) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var header = cookies.GetCookieHeader(request.RequestUri!);
            if (header.Length > 0) request.Headers.Add("Cookie", header);
            var response = await base.SendAsync(request, ct);
            if (response.Headers.TryGetValues("Set-Cookie", out var set))
                foreach (var c in set) cookies.SetCookies(request.RequestUri!, c);
            return response;
        }
    }
}
