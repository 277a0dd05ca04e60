using System.Net;
using System.Text;
using AffiliateTracker.Tests;
using Dapper;
using Microsoft.Playwright;

namespace AffiliateTracker.ConsoleTests;

/// Deep links, smart links, banners and product feeds through the pages, as an advertiser and a publisher use them.
[Collection(ConsoleCollection.Name)]
public sealed class LinksThatSellConsoleTests(ConsoleServer console)
{
    private const string Sneakers = "Demo Shop: Sneakers (10% of sale)";
    private static readonly HttpClient Visitor = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(ConsoleServer.BaseUrl) };

    private static async Task<string> LocationAsync(string url, string userAgent)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        var response = await Visitor.SendAsync(request);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        return response.Headers.Location!.OriginalString;
    }

    [Fact]
    public async Task A_publisher_builds_a_deep_link_and_a_page_off_the_offers_domains_is_refused()
    {
        var page = await console.NewPageAsync();
        await console.SignInAsync(page, "alice@demo.test");
        await page.GotoAsync("/publisher/links");
        await page.GetByLabel("Offer").SelectOptionAsync(new SelectOptionValue { Label = (await OfferLabelAsync(Sneakers)) });
        var deepField = page.GetByLabel("Deep link (optional): a page on the advertiser's site");

        await deepField.FillAsync("https://evil.example/phish");
        await page.GetByRole(AriaRole.Button, new() { Name = "Build link" }).ClickAsync();
        await Assertions.Expect(page.Locator(".field-error")).ToContainTextAsync("is not on the offer's domains (127.0.0.1)");

        await deepField.FillAsync($"{ConsoleServer.BaseUrl}/demo/shop?product=sneakers&model=run-43");
        await page.GetByRole(AriaRole.Button, new() { Name = "Build link" }).ClickAsync();
        var built = await page.Locator("#built-link").InputValueAsync();
        Assert.Contains("/c/demo-sneakers-alice?url=", built);
        var location = await LocationAsync(built, ConsoleServer.ShopperUserAgent);
        Assert.StartsWith($"{ConsoleServer.BaseUrl}/demo/shop?product=sneakers&model=run-43&click_id=", location);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_publisher_makes_a_smart_link_that_sends_iphones_to_the_first_rule()
    {
        var page = await console.NewPageAsync();
        await console.SignInAsync(page, "alice@demo.test");
        await page.GotoAsync("/publisher/smart-links");
        var name = $"Smart {Guid.NewGuid():N}"[..14];
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
        await page.GetByLabel("Fallback URL").FillAsync("https://alice.example/more");
        var first = page.Locator("fieldset.rule").Nth(0);
        await first.GetByLabel("iOS").CheckAsync();
        await first.Locator("tr", new() { HasText = "Newsletter" }).Locator("input").FillAsync("1");
        await page.Locator("fieldset.rule").Nth(1).Locator("tr", new() { HasText = "Sneakers" }).Locator("input").FillAsync("1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Saved");

        var url = await page.Locator("tr", new() { HasText = name }).Locator("input[readonly]").InputValueAsync();
        Assert.Contains("product=newsletter", await LocationAsync(url, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"));
        Assert.Contains("product=sneakers", await LocationAsync(url, ConsoleServer.ShopperUserAgent));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_advertisers_banner_and_feed_reach_the_publisher_with_their_own_link()
    {
        var png = Path.Combine(Path.GetTempPath(), $"banner-{Guid.NewGuid():N}.png");
        await File.WriteAllBytesAsync(png, TestPng.Of(728, 90));
        var csv = Path.Combine(Path.GetTempPath(), $"feed-{Guid.NewGuid():N}.csv");
        var marker = Guid.NewGuid().ToString("N")[..8];
        await File.WriteAllTextAsync(csv, $"""
            id,name,price,currency,url
            {marker}-1,Trail {marker},99.00,USD,{ConsoleServer.BaseUrl}/demo/shop?product=sneakers&model={marker}-1
            {marker}-2,Elsewhere,10.00,USD,https://evil.example/x
            """, Encoding.UTF8);

        var advertiser = await console.NewPageAsync();
        await console.SignInAsync(advertiser, "shop@demo.test");
        await advertiser.GotoAsync("/advertiser/materials");
        await advertiser.Locator("form", new() { HasText = "Image file" }).GetByLabel("Name").FillAsync($"Leaderboard {marker}");
        await advertiser.GetByLabel("Image file").SetInputFilesAsync(png);
        await advertiser.GetByRole(AriaRole.Button, new() { Name = "Upload" }).First.ClickAsync();
        await Assertions.Expect(advertiser.GetByRole(AriaRole.Status)).ToContainTextAsync("Saved");
        await Assertions.Expect(advertiser.Locator("article", new() { HasText = $"Leaderboard {marker}" })).ToContainTextAsync("728×90");

        var feedForm = advertiser.Locator("article", new() { HasText = "Add a product feed" });
        await feedForm.GetByLabel("Name").FillAsync($"Feed {marker}");
        await feedForm.GetByLabel("Feed URL (optional)").FillAsync("");
        await feedForm.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        var feed = advertiser.Locator("article", new() { HasText = $"Feed {marker}" });
        await feed.GetByLabel("Feed file (YML, Google Merchant XML or CSV)").SetInputFilesAsync(csv);
        await feed.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        await Assertions.Expect(advertiser.GetByRole(AriaRole.Status)).ToContainTextAsync("Products imported: 1; skipped: 1.");
        await console.ScreenshotAsync(advertiser, "advertiser-materials-uploaded");

        var publisher = await console.NewPageAsync();
        await console.SignInAsync(publisher, "alice@demo.test");
        await publisher.GotoAsync("/publisher/materials");
        var banner = publisher.Locator("article", new() { HasText = $"Leaderboard {marker}" });
        Assert.Contains($"{ConsoleServer.BaseUrl}/c/demo-sneakers-alice", await banner.Locator("textarea").InputValueAsync());
        var download = await publisher.RunAndWaitForDownloadAsync(() =>
            publisher.Locator("article", new() { HasText = $"Feed {marker}" }).GetByRole(AriaRole.Link, new() { Name = "CSV" }).ClickAsync());
        var text = await File.ReadAllTextAsync((await download.PathAsync())!);
        Assert.Contains($"{marker}-1,Trail {marker},99.00,USD,{ConsoleServer.BaseUrl}/c/demo-sneakers-alice?url=", text);
        Assert.DoesNotContain("evil.example", text);
        await console.ScreenshotAsync(publisher, "publisher-materials-feed");

        File.Delete(png);
        File.Delete(csv);
        await advertiser.Context.CloseAsync();
        await publisher.Context.CloseAsync();
    }

    private async Task<string> OfferLabelAsync(string name)
    {
        await using var db = console.Db();
        var id = await db.QuerySingleAsync<long>("SELECT id FROM offers WHERE name = @name", new { name });
        return $"{name} (#{id})";
    }
}
