using System.Net;
using Dapper;
using Microsoft.AspNetCore.Hosting;

namespace AffiliateTracker.IntegrationTests;

/// The tracker behind a TLS-terminating load balancer (10.9.0.0/16) and a CDN edge (192.0.2.10).
public sealed class ProxiedApp : TrackerApp
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Proxies:Trusted:0", "10.9.0.0/16");
        builder.UseSetting("Proxies:Trusted:1", "192.0.2.10");
    }
}

public sealed class TrustedProxyTests(ProxiedApp proxied, TrackerApp plain) : IClassFixture<ProxiedApp>, IClassFixture<TrackerApp>
{
    private static async Task<(HttpResponseMessage Redirect, string Ip)> ClickViaAsync(TrackerApp app, string from, string forwardedFor, string proto = "https")
    {
        var n = await app.CreateNetworkAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/c/{n.LinkCode}");
        request.Headers.TryAddWithoutValidation("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0");
        request.Headers.Add(TrackerApp.RemoteIpHeader, from);
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        request.Headers.Add("X-Forwarded-Proto", proto);
        var redirect = await app.Browser().SendAsync(request);
        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        var clickId = TrackerApp.ClickIdOf(redirect);
        await TrackerApp.WaitForClickRowAsync(clickId);
        await using var conn = await TrackerApp.DbAsync();
        return (redirect, await conn.ExecuteScalarAsync<string>("SELECT host(ip) FROM clicks WHERE click_id = @clickId", new { clickId }) ?? "");
    }

    private static bool SecureCookie(HttpResponseMessage redirect) =>
        redirect.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("atc_")).Split(';').Any(p => p.Trim() == "secure");

    [Fact]
    public async Task Behind_a_trusted_proxy_that_terminated_tls_the_cookie_is_secure_and_the_click_has_the_clients_address()
    {
        var (redirect, ip) = await ClickViaAsync(proxied, from: "10.9.8.7", forwardedFor: "203.0.113.9");
        Assert.True(SecureCookie(redirect));
        Assert.Equal("203.0.113.9", ip);
    }

    [Fact]
    public async Task Through_a_cdn_and_a_load_balancer_the_client_is_the_first_untrusted_address_from_the_right()
    {
        // The client wrote its own X-Forwarded-For (1.2.3.4); the CDN appended the client, the balancer the CDN.
        var (_, ip) = await ClickViaAsync(proxied, from: "10.9.8.7", forwardedFor: "1.2.3.4, 203.0.113.9, 192.0.2.10");
        Assert.Equal("203.0.113.9", ip);
    }

    [Theory]
    [InlineData("198.51.100.7")]
    [InlineData("127.0.0.1")] // loopback is not trusted unless listed
    public async Task Forwarded_headers_from_an_address_that_is_not_a_trusted_proxy_are_ignored(string from)
    {
        var (redirect, ip) = await ClickViaAsync(proxied, from, forwardedFor: "203.0.113.9");
        Assert.False(SecureCookie(redirect));
        Assert.Equal(from, ip);
    }

    [Fact]
    public async Task Without_configured_proxies_forwarded_headers_are_ignored()
    {
        var (redirect, ip) = await ClickViaAsync(plain, from: "10.9.8.7", forwardedFor: "203.0.113.9");
        Assert.False(SecureCookie(redirect));
        Assert.Equal("10.9.8.7", ip);
    }

    [Theory]
    [InlineData("not-an-address")]
    [InlineData("10.0.0.0/40")]
    public void A_malformed_trusted_proxy_stops_the_server_at_start(string entry)
    {
        using var app = new MisconfiguredApp(entry);
        var e = Assert.ThrowsAny<Exception>(() => app.Server);
        Assert.Contains($"'{entry}'", e.ToString());
    }

    private sealed class MisconfiguredApp(string entry) : TrackerApp
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Proxies:Trusted", entry);
        }
    }
}
