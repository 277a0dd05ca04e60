using System.Net;

namespace AffiliateTracker.IntegrationTests;

/// An offer sold only in some countries: its landing page sees only visitors known to be from them. The country
/// comes from a trusted proxy's CF-IPCountry, or from the visitor's address in the IP-to-country database
/// (deploy/geo.sh fetches it; deploy/test.sh points the tests at it).
public sealed class GeoTargetingTests(ProxiedApp proxied, TrackerApp plain) : IClassFixture<ProxiedApp>, IClassFixture<TrackerApp>
{
    // Addresses whose registry country is long settled: Deutsche Telekom (DE), Google's public DNS (US).
    private const string GermanAddress = "80.128.0.1", AmericanAddress = "8.8.8.8";
    private const string Landing = "https://shop.example/land", Fallback = "https://fallback.example/geo";

    private static Task<TrackerApp.Network> GermanOfferAsync(TrackerApp app) =>
        app.CreateNetworkAsync(fallbackUrl: Fallback, offerExtra: new { allowed_countries = new[] { "DE" } });

    private static async Task<HttpResponseMessage> ClickAsync(TrackerApp app, TrackerApp.Network n, string? from, string? cfCountry = null,
        string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/c/{n.LinkCode}");
        request.Headers.TryAddWithoutValidation("User-Agent", $"Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0 {Guid.NewGuid():N}");
        if (from is not null) request.Headers.Add(TrackerApp.RemoteIpHeader, from);
        if (cfCountry is not null) request.Headers.Add("CF-IPCountry", cfCountry);
        if (forwardedFor is not null) request.Headers.Add("X-Forwarded-For", forwardedFor);
        var response = await app.Browser().SendAsync(request);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        return response;
    }

    [Fact]
    public async Task A_country_header_from_a_peer_that_is_not_a_trusted_proxy_is_ignored()
    {
        var n = await GermanOfferAsync(plain);

        var spoofed = await ClickAsync(plain, n, from: AmericanAddress, cfCountry: "DE");

        Assert.StartsWith(Fallback, spoofed.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_trusted_proxys_country_header_decides()
    {
        var n = await GermanOfferAsync(proxied);

        var german = await ClickAsync(proxied, n, from: "10.9.0.4", cfCountry: "de", forwardedFor: "198.51.100.7");
        var other = await ClickAsync(proxied, n, from: "10.9.0.4", cfCountry: "FR", forwardedFor: "198.51.100.8");

        Assert.StartsWith(Landing, german.Headers.Location!.OriginalString);
        Assert.StartsWith(Fallback, other.Headers.Location!.OriginalString);
        Assert.Equal("DE", (await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(german))).Country);
    }

    private void RequireDatabase() => Assert.True(plain.Service<AffiliateTracker.Clicks.VisitorCountry>().HasDatabase,
        "No IP-to-country database: deploy/test.sh fetches one with deploy/geo.sh (Geo__CountryDatabase).");

    [Fact]
    public async Task The_visitors_address_is_looked_up_when_no_trusted_proxy_says()
    {
        RequireDatabase();
        var n = await GermanOfferAsync(plain);

        var german = await ClickAsync(plain, n, from: GermanAddress);
        var american = await ClickAsync(plain, n, from: AmericanAddress);

        Assert.StartsWith(Landing, german.Headers.Location!.OriginalString);
        Assert.StartsWith(Fallback, american.Headers.Location!.OriginalString);
        Assert.Equal("DE", (await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(german))).Country);
    }

    [Fact]
    public async Task A_visitor_of_unknown_country_never_reaches_a_country_restricted_landing_page()
    {
        var withFallback = await GermanOfferAsync(plain);
        var withoutFallback = await plain.CreateNetworkAsync(offerExtra: new { allowed_countries = new[] { "DE" } });

        var documentation = await ClickAsync(plain, withFallback, from: "192.0.2.44"); // TEST-NET: in no country
        var noAddress = await ClickAsync(plain, withFallback, from: null);
        var refused = new HttpRequestMessage(HttpMethod.Get, $"/c/{withoutFallback.LinkCode}");
        refused.Headers.Add(TrackerApp.RemoteIpHeader, "192.0.2.44");
        var page = await plain.Browser().SendAsync(refused);

        Assert.StartsWith(Fallback, documentation.Headers.Location!.OriginalString);
        Assert.StartsWith(Fallback, noAddress.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Null(page.Headers.Location);
    }

    [Fact]
    public async Task Clicks_on_offers_open_everywhere_get_their_country_after_the_redirect()
    {
        RequireDatabase();
        var n = await plain.CreateNetworkAsync();

        var click = await ClickAsync(plain, n, from: AmericanAddress);

        Assert.Equal("US", (await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(click))).Country);
    }
}
