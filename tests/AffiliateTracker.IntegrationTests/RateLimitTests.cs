using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AffiliateTracker.Access;
using Microsoft.AspNetCore.Hosting;
using Npgsql;

namespace AffiliateTracker.IntegrationTests;

/// The tracker with low limits: 10 management calls per key and 3 without a valid key per address a
/// minute, 2 postbacks per address a second.
public sealed class LimitedApp : TrackerApp
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("RateLimits:ManagementPerKeyPerMinute", "10");
        builder.UseSetting("RateLimits:ManagementPerIpPerMinute", "3");
        builder.UseSetting("RateLimits:PostbackPerIpPerSecond", "2");
    }
}

public sealed class RateLimitTests(LimitedApp app) : IClassFixture<LimitedApp>
{
    // Keys straight from the database, so issuing them spends no one's budget.
    private async Task<string> KeyAsync()
    {
        await using var conn = await app.Service<NpgsqlDataSource>().OpenConnectionAsync();
        return (await ApiKeys.IssueAsync(conn, "admin", null, null, "rate limit tests")).Secret;
    }

    private async Task<HttpResponseMessage> CallAsync(string path, string? key, string from)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null) request.Headers.Authorization = new("Bearer", key);
        request.Headers.Add(TrackerApp.RemoteIpHeader, from);
        return await app.Browser().SendAsync(request);
    }

    private static async Task AssertRateLimited(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("rate_limited", body["error"]!.GetValue<string>());
        Assert.StartsWith("Too many requests", body["message"]!.GetValue<string>());
        Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single()), 1, 60);
    }

    [Fact]
    public async Task An_api_key_over_its_limit_gets_429_with_a_json_error_and_retry_after_while_another_key_goes_on()
    {
        var (busy, quiet) = (await KeyAsync(), await KeyAsync());
        for (var i = 0; i < 10; i++) Assert.Equal(HttpStatusCode.OK, (await CallAsync("/api/v1/me", busy, "198.51.100.20")).StatusCode);

        await AssertRateLimited(await CallAsync("/api/v1/me", busy, "198.51.100.20"));
        // Same address, another key: its own budget.
        Assert.Equal(HttpStatusCode.OK, (await CallAsync("/api/v1/me", quiet, "198.51.100.20")).StatusCode);
    }

    [Fact]
    public async Task Calls_without_a_valid_key_are_limited_per_address_and_do_not_spend_a_keys_budget()
    {
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync("/api/v1/me", "atk_guess" + i, "198.51.100.30")).StatusCode);

        await AssertRateLimited(await CallAsync("/api/v1/me", "atk_guess-again", "198.51.100.30"));
        await AssertRateLimited(await CallAsync("/api/v1/me", null, "198.51.100.30"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync("/api/v1/me", "atk_guess", "198.51.100.31")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync("/api/v1/me", await KeyAsync(), "198.51.100.30")).StatusCode);
    }

    [Fact]
    public async Task Postbacks_over_the_per_address_limit_get_429_with_a_json_error_and_retry_after_while_another_address_goes_on()
    {
        // At most 2 a second get through, so a quick run of postbacks meets the limit (bounded, not timed).
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 50 && limited is null; i++)
        {
            var response = await CallAsync($"/postback?click_id=01M7Z5J01FC2K56S1833VFEX3M&txid=t{i}&token=pbt_x", null, "203.0.113.40");
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited = response;
            else Assert.Equal(HttpStatusCode.NotFound, response.StatusCode); // unknown_click: it got through
        }
        Assert.NotNull(limited);
        await AssertRateLimited(limited);

        var other = await CallAsync("/postback?click_id=01M7Z5J01FC2K56S1833VFEX3M&txid=t&token=pbt_x", null, "203.0.113.41");
        Assert.Equal("unknown_click", (await other.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Click_redirects_are_never_rate_limited()
    {
        var n = await app.CreateNetworkAsync();
        for (var i = 0; i < 20; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/c/{n.LinkCode}");
            request.Headers.Add(TrackerApp.RemoteIpHeader, "203.0.113.50");
            request.Headers.TryAddWithoutValidation("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0");
            Assert.Equal(HttpStatusCode.Found, (await app.Browser().SendAsync(request)).StatusCode);
        }
    }

    [Theory]
    [InlineData("ManagementPerKeyPerMinute", "-1")]
    [InlineData("PostbackPerIpPerSecond", "-5")]
    public void A_negative_limit_stops_the_server_at_start(string setting, string value)
    {
        using var misconfigured = new MisconfiguredApp(setting, value);
        var e = Assert.ThrowsAny<Exception>(() => misconfigured.Server);
        Assert.Contains("RateLimits", e.ToString());
    }

    private sealed class MisconfiguredApp(string setting, string value) : TrackerApp
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting($"RateLimits:{setting}", value);
        }
    }
}
