using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AffiliateTracker.IntegrationTests;

/// Deep links: `url=` on a tracking link sends the visitor to that page of the advertiser's, with the click id
/// added as the offer says, but only on the hosts the offer lists; anything else lands on the landing page and
/// the click records the refusal.
public sealed class DeepLinkTests(TrackerApp app) : IClassFixture<TrackerApp>
{
    private const string Landing = "https://shop.example/land?cid={click_id}";

    private Task<TrackerApp.Network> ShopAsync(string? template = "clickid={click_id}&aff={aff_id}&s={sub1}") =>
        app.CreateNetworkAsync(Landing, offerExtra: new { deep_link_domains = new[] { "shop.example", "*.brand.example" }, deep_link_template = template });

    private async Task<HttpResponseMessage> DeepAsync(TrackerApp.Network n, string url, string extra = "")
    {
        var r = await app.ClickAsync($"/c/{n.LinkCode}?url={Uri.EscapeDataString(url)}{extra}");
        Assert.Equal(HttpStatusCode.Found, r.StatusCode);
        return r;
    }

    [Fact]
    public async Task A_deep_link_goes_to_the_page_with_the_click_id_added_and_is_recorded()
    {
        var n = await ShopAsync();

        var r = await DeepAsync(n, "https://shop.example/p/42?color=red#reviews", "&sub1=blog post");
        var click = TrackerApp.ClickIdOf(r);

        Assert.Equal($"https://shop.example/p/42?color=red&clickid={click}&aff={n.PublisherId}&s=blog%20post#reviews", r.Headers.Location!.OriginalString);
        var row = await TrackerApp.WaitForClickRowAsync(click);
        Assert.Equal(("https://shop.example/p/42?color=red#reviews", false), (row.DeepLink, row.DeepLinkRefused));
    }

    [Fact]
    public async Task A_subdomain_listed_with_a_star_and_a_redirector_template_work()
    {
        var n = await ShopAsync("https://go.brand.example/r?to={url}&cid={click_id}");

        var r = await DeepAsync(n, "https://m.brand.example/item/7");

        Assert.Equal($"https://go.brand.example/r?to=https%3A%2F%2Fm.brand.example%2Fitem%2F7&cid={TrackerApp.ClickIdOf(r)}", r.Headers.Location!.OriginalString);
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("https://shop.example@evil.example/")]
    [InlineData("https://shop.example\\@evil.example/")]
    [InlineData("javascript:alert(document.cookie)")]
    [InlineData("//evil.example/")]
    [InlineData("https://shop.example.evil.example/")]
    [InlineData("https://shоp.example/")]
    [InlineData("https://shop.example%2F@evil.example/")]
    public async Task A_deep_link_off_the_offers_domains_lands_on_the_landing_page_and_is_recorded_as_refused(string url)
    {
        var n = await ShopAsync();

        var r = await DeepAsync(n, url);
        var click = TrackerApp.ClickIdOf(r);

        Assert.Equal($"https://shop.example/land?cid={click}", r.Headers.Location!.OriginalString);
        var row = await TrackerApp.WaitForClickRowAsync(click);
        Assert.Equal((null, true), (row.DeepLink, row.DeepLinkRefused));
    }

    [Fact]
    public async Task Double_encoded_tricks_stay_encoded_and_are_refused()
    {
        var n = await ShopAsync();

        // %252F decodes once to %2F: the host would read "shop.example%2F@evil.example".
        var r = await app.ClickAsync($"/c/{n.LinkCode}?url=https%3A%2F%2Fshop.example%252F%40evil.example%2F");

        Assert.StartsWith("https://shop.example/land?cid=", r.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task An_offer_without_deep_link_domains_ignores_url()
    {
        var n = await app.CreateNetworkAsync(Landing);

        var r = await DeepAsync(n, "https://shop.example/p/1");

        Assert.StartsWith("https://shop.example/land?cid=", r.Headers.Location!.OriginalString);
        Assert.True((await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(r))).DeepLinkRefused);
    }

    [Fact]
    public async Task Deep_link_settings_are_checked_and_shown_to_publishers_without_the_template()
    {
        var admin = await app.AdminAsync();
        var advertiser = await app.CreateAdvertiserAsync();
        var bad = await admin.PostAsJsonAsync("/api/v1/offers", new
        {
            advertiser_id = advertiser, name = "Deep", landing_url = Landing, deep_link_domains = new[] { "https://shop.example/" },
            goals = new[] { new { code = "sale", payout_type = "fixed", payout = 1m } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("deep_link_domains[0]", (await bad.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());

        var n = await ShopAsync();
        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));
        var seen = (await publisher.GetFromJsonAsync<JsonObject>($"/api/v1/offers/{n.OfferId}"))!;
        Assert.Equal(["shop.example", "*.brand.example"], seen["deep_link_domains"]!.AsArray().Select(d => d!.GetValue<string>()));
        Assert.Null(seen["deep_link_template"]);
    }
}
