using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;

namespace AffiliateTracker.IntegrationTests;

/// The tracker with a public address of its own, as a deployment behind a domain has.
public sealed class PublicAddressApp : TrackerApp
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("PublicBaseUrl", "https://track.example");
    }
}

public sealed class ResponseHardeningTests(PublicAddressApp app) : IClassFixture<PublicAddressApp>
{
    [Fact]
    public async Task Every_kind_of_answer_forbids_sniffing_and_framing_and_carries_a_content_security_policy()
    {
        var n = await app.CreateNetworkAsync();
        var admin = await app.AdminAsync();
        var browser = app.Browser();
        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["redirect"] = await app.ClickAsync($"/c/{n.LinkCode}"),
            ["unknown link"] = await browser.GetAsync("/c/no-such-link"),
            ["postback error"] = await browser.GetAsync("/postback?click_id=x"),
            ["pixel"] = await browser.GetAsync($"/pixel?offer_id={n.OfferId}"),
            ["api"] = await admin.GetAsync($"/api/v1/offers/{n.OfferId}"),
            ["api without key"] = await browser.GetAsync("/api/v1/offers"),
            ["health"] = await browser.GetAsync("/health"),
            ["openapi"] = await browser.GetAsync("/openapi/v1.json"),
            ["no such route"] = await browser.GetAsync("/nowhere"),
        };

        foreach (var (what, r) in answers)
        {
            Assert.True(r.Headers.TryGetValues("X-Content-Type-Options", out var sniff) && sniff.Single() == "nosniff", what);
            Assert.True(r.Headers.TryGetValues("X-Frame-Options", out var frame) && frame.Single() == "DENY", what);
            Assert.True(r.Headers.TryGetValues("Content-Security-Policy", out var csp) && csp.Single().Contains("frame-ancestors 'none'")
                && csp.Single().Contains("script-src 'self'"), what);
        }
        Assert.Equal(HttpStatusCode.Found, answers["redirect"].StatusCode);
    }

    [Fact]
    public async Task Answers_that_carry_a_new_secret_are_never_stored_by_a_cache()
    {
        var admin = await app.AdminAsync();
        var advertiser = await app.CreateAdvertiserAsync();
        var answers = new[]
        {
            await admin.PostAsJsonAsync("/api/v1/api-keys", new { role = "advertiser", advertiser_id = advertiser }),
            await admin.PostAsync($"/api/v1/advertisers/{advertiser}/postback-token", null),
            await admin.PostAsync($"/api/v1/advertisers/{advertiser}/signing-key", null),
        };
        foreach (var r in answers)
        {
            Assert.True(r.IsSuccessStatusCode, r.RequestMessage!.RequestUri!.ToString());
            Assert.True(r.Headers.CacheControl?.NoStore, r.RequestMessage!.RequestUri!.ToString());
        }
    }

    [Fact]
    public async Task Tracking_urls_come_from_the_configured_public_address_not_the_requests_host()
    {
        var n = await app.CreateNetworkAsync();
        var admin = app.WithKey(await app.IssueKeyAsync("admin"));
        admin.DefaultRequestHeaders.Host = "evil.example";

        var links = (await admin.GetFromJsonAsync<JsonArray>($"/api/v1/links?offer_id={n.OfferId}"))!;

        Assert.Equal($"https://track.example/c/{n.LinkCode}", links.Single()!["tracking_url"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("127.0.0.1", HttpStatusCode.OK)]
    [InlineData("::1", HttpStatusCode.OK)]
    [InlineData("203.0.113.7", HttpStatusCode.Forbidden)]
    public async Task Metrics_are_served_to_loopback_by_default_and_refused_elsewhere(string from, HttpStatusCode expected)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Add(TrackerApp.RemoteIpHeader, from);
        var r = await app.Browser().SendAsync(request);

        Assert.Equal(expected, r.StatusCode);
        if (expected == HttpStatusCode.OK) Assert.Contains("at_clicks_buffered", await r.Content.ReadAsStringAsync());
        else Assert.Equal("forbidden", (await r.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
    }
}
