using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Playwright;

namespace AffiliateTracker.ConsoleTests;

/// The whole network worked through pages only, in a real browser: an admin creates an offer; a publisher
/// signs up and is approved, asks for the offer and is granted it, builds a link; a visitor clicks it (the
/// real redirect) and orders in the demo shop; the conversion shows pending with its hold countdown; the
/// advertiser approves it; the admin runs a payout, approves it and marks it paid; the publisher sees it paid.
[Collection(ConsoleCollection.Name)]
public sealed class WalkthroughTests(ConsoleServer console)
{
    [Fact]
    public async Task A_conversion_goes_from_a_new_offer_to_a_paid_balance_through_the_pages()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var offerName = $"Walkthrough Headphones {tag}";
        var company = $"Walkthrough Media {tag}";
        var email = $"walk-{tag}@publisher.test";
        const string password = "walkthrough-password";

        // The admin creates a public offer that pays 10% of each sale, held 72 hours.
        var admin = await console.NewPageAsync();
        admin.Dialog += (_, dialog) => dialog.AcceptAsync();
        await console.SignInAsync(admin, "admin@demo.test");
        await admin.GotoAsync("/admin/offers/new");
        await admin.Locator("input[name='Form.Name']").FillAsync(offerName);
        await admin.Locator("select[name='Form.Visibility']").SelectOptionAsync("public");
        await admin.Locator("input[name='Form.LandingUrl']").FillAsync($"{ConsoleServer.BaseUrl}/demo/shop?product=headphones&offer_id={{offer_id}}&click_id={{click_id}}&sub1={{sub1}}");
        await admin.Locator("input[name='Form.HoldPeriodHours']").FillAsync("72");
        await admin.Locator("input[name='Form.PixelAutoApprove']").CheckAsync();
        await admin.Locator("input[name='Form.GoalCode']").FillAsync("sale");
        await admin.Locator("select[name='Form.PayoutType']").SelectOptionAsync("percent");
        await admin.Locator("input[name='Form.Payout']").FillAsync("10");
        await admin.Locator("select[name='Form.RevenueType']").SelectOptionAsync("percent");
        await admin.Locator("input[name='Form.Revenue']").FillAsync("15");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Create offer" }).ClickAsync();
        await Assertions.Expect(admin.Locator("h1")).ToContainTextAsync(offerName);

        // A publisher signs up and waits; sign-in says so.
        var publisher = await console.NewPageAsync();
        await publisher.GotoAsync("/account/sign-up");
        await publisher.GetByLabel("Your name or company").FillAsync(company);
        await publisher.GetByLabel("Website").FillAsync("https://walkthrough.example");
        await publisher.GetByLabel("Traffic sources").FillAsync("Headphone reviews");
        await publisher.GetByLabel("Email").FillAsync(email);
        await publisher.GetByLabel("New password").FillAsync(password);
        await publisher.GetByRole(AriaRole.Button, new() { Name = "Sign up" }).ClickAsync();
        await Assertions.Expect(publisher.GetByRole(AriaRole.Status)).ToContainTextAsync("waits for the network's approval");
        await console.SignInAsync(publisher, email, password);
        await Assertions.Expect(publisher.GetByRole(AriaRole.Alert)).ToContainTextAsync("waiting for a network admin's approval");

        // The admin approves the publisher and lowers their minimum payout to 10.
        await admin.GotoAsync("/admin/publishers?filter=pending");
        var row = admin.Locator("tr", new() { HasText = company });
        await row.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await admin.GotoAsync("/admin/publishers");
        row = admin.Locator("tr", new() { HasText = company });
        await row.Locator("input[name='minPayout']").FillAsync("10");
        await row.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(admin.Locator("tr", new() { HasText = company })).ToContainTextAsync("active");

        // The publisher signs in, finds the public offer and asks to run it; the admin grants it.
        await console.SignInAsync(publisher, email, password);
        await Assertions.Expect(publisher).ToHaveURLAsync(new Regex("/publisher$"));
        await publisher.GotoAsync("/publisher/offers");
        var offerRow = publisher.Locator("tr", new() { HasText = offerName });
        await offerRow.Locator("input[name='message']").FillAsync("Reviews of headphones");
        await offerRow.GetByRole(AriaRole.Button, new() { Name = "Request access" }).ClickAsync();
        await Assertions.Expect(publisher.Locator("tr", new() { HasText = offerName })).ToContainTextAsync("requested");
        await admin.GotoAsync("/admin/access-requests");
        await admin.Locator("tr", new() { HasText = company }).Filter(new() { HasText = offerName })
            .GetByRole(AriaRole.Button, new() { Name = "Grant access" }).ClickAsync();
        await Assertions.Expect(admin.Locator("tr", new() { HasText = company }).Filter(new() { HasText = offerName })).ToContainTextAsync("approved");

        // The publisher builds a link with a sub-id and copies it.
        await publisher.GotoAsync("/publisher/offers");
        await publisher.Locator("tr", new() { HasText = offerName }).GetByRole(AriaRole.Button, new() { Name = "Get link" }).ClickAsync();
        await publisher.Locator("input[name='Sub[0]']").FillAsync("walkthrough");
        await publisher.GetByRole(AriaRole.Button, new() { Name = "Build link" }).ClickAsync();
        var link = await publisher.Locator("#built-link").InputValueAsync();
        Assert.Matches($"^{Regex.Escape(ConsoleServer.BaseUrl)}/c/[A-Za-z0-9]+\\?sub1=walkthrough$", link);

        // A visitor clicks it (the real redirect), looks around and orders in the demo shop.
        var visitor = await console.NewPageAsync(userAgent: ConsoleServer.ShopperUserAgent);
        await visitor.GotoAsync(link);
        await Assertions.Expect(visitor).ToHaveURLAsync(new Regex("/demo/shop\\?product=headphones"));
        var clickId = await visitor.Locator("#click-id").TextContentAsync();
        Assert.False(string.IsNullOrEmpty(clickId));
        await Task.Delay(ConsoleServer.MinTimeToConvert + TimeSpan.FromSeconds(1)); // a real shopper is not instant (too_fast)
        await visitor.Locator("#order").ClickAsync();
        await Assertions.Expect(visitor.Locator("h1")).ToHaveTextAsync("Thank you for your order");
        var order = await visitor.Locator("#order-id").TextContentAsync();

        // The publisher sees it pending, approving in 3 days (the hold), once the flusher has written it.
        var conversionRow = publisher.Locator("tr", new() { HasText = offerName });
        await EventuallyAsync(publisher, "/publisher/conversions", conversionRow);
        await Assertions.Expect(conversionRow.First).ToContainTextAsync("pending");
        await Assertions.Expect(conversionRow.First).ToContainTextAsync("approves in 3 days");
        await Assertions.Expect(conversionRow.First).ToContainTextAsync("12.00");

        // The advertiser approves it, with a reason.
        var advertiser = await console.NewPageAsync();
        await console.SignInAsync(advertiser, "shop@demo.test");
        await advertiser.GotoAsync($"/advertiser/conversions?Txid={order}");
        await advertiser.Locator("tr", new() { HasText = order! }).Locator("input[name='ids']").CheckAsync();
        await advertiser.GetByPlaceholder("Reason").FillAsync("Order shipped");
        await advertiser.GetByRole(AriaRole.Button, new() { Name = "Approve selected" }).ClickAsync();
        await Assertions.Expect(advertiser.GetByRole(AriaRole.Status)).ToContainTextAsync("1 changed");
        await Assertions.Expect(advertiser.Locator("tr", new() { HasText = order! })).ToContainTextAsync("approved");

        // The admin runs a payout, approves it and marks the publisher's line paid.
        await admin.GotoAsync("/admin/payouts");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Create run" }).ClickAsync();
        await Assertions.Expect(admin).ToHaveURLAsync(new Regex("/admin/payouts/\\d+$"));
        var line = admin.Locator("tr", new() { HasText = company });
        await Assertions.Expect(line).ToContainTextAsync("12.00");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Approve run" }).ClickAsync();
        line = admin.Locator("tr", new() { HasText = company });
        await line.GetByPlaceholder("Payment reference").FillAsync($"WIRE-{tag}");
        await line.GetByRole(AriaRole.Button, new() { Name = "Mark paid" }).ClickAsync();
        await Assertions.Expect(admin.Locator("tr", new() { HasText = company })).ToContainTextAsync("paid");

        // The publisher's balance shows it paid, and the payout history its reference.
        await publisher.GotoAsync("/publisher/payments");
        var balance = publisher.Locator("tbody tr", new() { HasText = "USD" }).First;
        await Assertions.Expect(balance.Locator("td").Nth(3)).ToHaveTextAsync("12.00\u00A0USD");
        await Assertions.Expect(publisher.Locator("tr", new() { HasText = $"WIRE-{tag}" })).ToContainTextAsync("paid");
        await console.ScreenshotAsync(publisher, "walkthrough-publisher-paid");

        // And in PostgreSQL: one paid conversion for this publisher, of 12.00.
        await using var db = console.Db();
        var paid = await db.QuerySingleAsync<(long Count, decimal Sum)>("""
            SELECT count(*), coalesce(sum(c.payout), 0) FROM conversions c JOIN payout_lines l ON l.id = c.payout_line_id
            JOIN publishers p ON p.id = c.publisher_id WHERE p.name = @company AND l.status = 'paid' AND c.status = 'approved'
            """, new { company });
        Assert.Equal((1L, 12.00m), paid);
        foreach (var p in new[] { admin, publisher, visitor, advertiser }) await p.Context.CloseAsync();
    }

    /// Reloads a page until the locator shows (the conversion is written by the flusher shortly after the pixel).
    private static async Task EventuallyAsync(IPage page, string path, ILocator locator)
    {
        for (var i = 0; i < 40; i++)
        {
            await page.GotoAsync(path);
            if (await locator.CountAsync() > 0) return;
            await Task.Delay(500);
        }
        throw new TimeoutException($"{path} never showed the expected row");
    }
}
