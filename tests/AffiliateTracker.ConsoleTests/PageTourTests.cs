using Microsoft.Playwright;

namespace AffiliateTracker.ConsoleTests;

/// Every main page of each role opens, has no serious or critical accessibility problem (axe-core), and is
/// photographed for the README.
[Collection(ConsoleCollection.Name)]
public sealed class PageTourTests(ConsoleServer console)
{
    public static TheoryData<string, string, string> Pages => new()
    {
        { "alice@demo.test", "/publisher", "publisher-dashboard" },
        { "alice@demo.test", "/publisher/offers", "publisher-offers" },
        { "alice@demo.test", "/publisher/links", "publisher-links" },
        { "bob@demo.test", "/publisher/smart-links/1", "publisher-smart-link" },
        { "alice@demo.test", "/publisher/materials", "publisher-materials" },
        { "alice@demo.test", "/publisher/reports", "publisher-reports" },
        { "bob@demo.test", "/publisher/reports?Group=device_type", "publisher-reports-device" },
        { "bob@demo.test", "/publisher/costs", "publisher-costs" },
        { "admin@demo.test", "/admin/reports?Group=asn", "admin-reports-network" },
        { "alice@demo.test", "/publisher/conversions", "publisher-conversions" },
        { "alice@demo.test", "/publisher/payments", "publisher-payments" },
        { "alice@demo.test", "/publisher/postback", "publisher-postback" },
        { "alice@demo.test", "/account/security", "account-security" },
        { "alice@demo.test", "/account/api-keys", "account-api-keys" },
        { "shop@demo.test", "/advertiser", "advertiser-offers" },
        { "shop@demo.test", "/advertiser/conversions", "advertiser-conversions" },
        { "shop@demo.test", "/advertiser/postback", "advertiser-postback" },
        { "shop@demo.test", "/advertiser/reconciliations", "advertiser-reconciliations" },
        { "shop@demo.test", "/advertiser/materials", "advertiser-materials" },
        { "admin@demo.test", "/admin", "admin-overview" },
        { "admin@demo.test", "/admin/reports", "admin-reports" },
        { "admin@demo.test", "/admin/offers", "admin-offers" },
        { "admin@demo.test", "/admin/offers/1", "admin-offer-edit" },
        { "admin@demo.test", "/admin/offers/new", "admin-offer-new" },
        { "admin@demo.test", "/admin/materials", "admin-materials" },
        { "admin@demo.test", "/admin/advertisers", "admin-advertisers" },
        { "admin@demo.test", "/admin/publishers", "admin-publishers" },
        { "admin@demo.test", "/admin/access-requests", "admin-access-requests" },
        { "admin@demo.test", "/admin/review", "admin-review" },
        { "admin@demo.test", "/admin/payouts", "admin-payouts" },
        { "admin@demo.test", "/admin/payouts/1", "admin-payout-run" },
        { "admin@demo.test", "/admin/reconciliations", "admin-reconciliations" },
        { "admin@demo.test", "/admin/users", "admin-users" },
        { "admin@demo.test", "/admin/currency-rates", "admin-currency-rates" },
        { "admin@demo.test", "/admin/api-keys", "admin-api-keys" },
    };

    [Theory]
    [InlineData("/account/sign-in", "sign-in")]
    [InlineData("/account/sign-up", "sign-up")]
    public async Task Public_pages_open_without_serious_accessibility_problems(string path, string name)
    {
        var page = await console.NewPageAsync();
        var response = await page.GotoAsync(path);
        Assert.Equal(200, response!.Status);
        await console.ScreenshotAsync(page, name);
        Assert.Empty(await console.AccessibilityProblemsAsync(page));
        await page.Context.CloseAsync();
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task Main_pages_open_without_serious_accessibility_problems(string email, string path, string name)
    {
        var page = await console.NewPageAsync();
        await console.SignInAsync(page, email);
        var response = await page.GotoAsync(path);
        Assert.Equal(200, response!.Status);
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await console.ScreenshotAsync(page, name);
        Assert.Empty(await console.AccessibilityProblemsAsync(page));
        await page.Context.CloseAsync();
    }
}
