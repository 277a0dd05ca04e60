using System.Text;
using AffiliateTracker.Console;
using Dapper;
using Microsoft.Playwright;
using OtpNet;

namespace AffiliateTracker.ConsoleTests;

/// Single features through the pages: the review queue, reconciliation, the language switch, two-factor sign-in.
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleFeatureTests(ConsoleServer console)
{
    [Fact]
    public async Task A_flagged_conversion_is_approved_from_the_review_queue()
    {
        await using var db = console.Db();
        var flagged = await db.QueryFirstAsync<string>("""
            SELECT id FROM conversions WHERE status = 'pending' AND 'bot_click' = ANY(flags) ORDER BY created_at DESC LIMIT 1
            """);
        var admin = await console.NewPageAsync();
        await console.SignInAsync(admin, "admin@demo.test");
        await admin.GotoAsync("/admin/review?flag=bot_click");
        var row = admin.Locator("tr", new() { HasText = flagged });
        await Assertions.Expect(row).ToContainTextAsync("bot_click");
        await row.Locator("input[name='ids']").CheckAsync();
        await admin.GetByPlaceholder("Reason").FillAsync("Checked the click: a real customer behind a proxy");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Approve selected" }).ClickAsync();
        await Assertions.Expect(admin.GetByRole(AriaRole.Status)).ToContainTextAsync("1 changed");
        await Assertions.Expect(admin.Locator("tr", new() { HasText = flagged })).ToHaveCountAsync(0);

        var (status, actor, reason) = await db.QuerySingleAsync<(string, string, string)>("""
            SELECT c.status, h.actor, h.reason FROM conversions c JOIN conversion_status_history h ON h.conversion_id = c.id
            WHERE c.id = @flagged ORDER BY h.changed_at DESC, h.id DESC LIMIT 1
            """, new { flagged });
        Assert.Equal(("approved", "admin", "Checked the click: a real customer behind a proxy"), (status, actor, reason));
        await admin.Context.CloseAsync();
    }

    [Fact]
    public async Task An_advertisers_report_is_uploaded_sent_and_applied_by_the_admin()
    {
        await using var db = console.Db();
        var (id, txid) = await db.QueryFirstAsync<(string, string)>("""
            SELECT id, txid FROM conversions WHERE status = 'pending' AND cardinality(flags) = 0 AND txid LIKE 'demo-%' ORDER BY created_at LIMIT 1
            """);
        var csv = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(csv, $"txid,status,amount\n{txid},rejected,\nnot-a-number,,x,y\n", Encoding.UTF8);

        var advertiser = await console.NewPageAsync();
        await console.SignInAsync(advertiser, "shop@demo.test");
        await advertiser.GotoAsync("/advertiser/reconciliations");
        await advertiser.GetByLabel("Report (CSV)").SetInputFilesAsync(csv);
        await advertiser.GetByRole(AriaRole.Button, new() { Name = "Upload and compare" }).ClickAsync();
        await Assertions.Expect(advertiser.Locator("h1")).ToContainTextAsync("Reconciliation #");
        await Assertions.Expect(advertiser.Locator("tr", new() { HasText = txid })).ToContainTextAsync("rejected");
        var number = advertiser.Url.Split('/').Last();
        await advertiser.GetByRole(AriaRole.Button, new() { Name = "Send to the network for applying" }).ClickAsync();
        await Assertions.Expect(advertiser.GetByRole(AriaRole.Status)).ToContainTextAsync("Sent to the network");

        var admin = await console.NewPageAsync();
        admin.Dialog += (_, dialog) => dialog.AcceptAsync();
        await console.SignInAsync(admin, "admin@demo.test");
        await admin.GotoAsync("/admin/reconciliations");
        await Assertions.Expect(admin.Locator("tr", new() { HasText = $"#{number}" })).ToContainTextAsync("sent to the network");
        await admin.GotoAsync($"/admin/reconciliations/{number}");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Assertions.Expect(admin.GetByRole(AriaRole.Status)).ToContainTextAsync("Applied: 1");
        Assert.Equal("rejected", await db.QuerySingleAsync<string>("SELECT status FROM conversions WHERE id = @id", new { id }));
        File.Delete(csv);
        await advertiser.Context.CloseAsync();
        await admin.Context.CloseAsync();
    }

    [Fact]
    public async Task The_language_switch_changes_words_and_number_formats_and_is_remembered()
    {
        var page = await console.NewPageAsync();
        await console.SignInAsync(page, "bob@demo.test");
        await page.GotoAsync("/publisher");
        Assert.Equal("en", await page.Locator("html").GetAttributeAsync("lang"));
        foreach (var (language, culture) in new[] { ("ru", "ru"), ("zh-Hans", "zh-Hans"), ("vi", "vi"), ("tr", "tr") })
        {
            await page.Locator("select[name='language']").SelectOptionAsync(language);
            var text = new Text(culture);
            await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("lang", culture);
            await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync(text["Nav.Dashboard"]);
            await Assertions.Expect(page.Locator(".kpis article").First).ToContainTextAsync(text["Period.Today"]);
            if (language == "ru") await console.ScreenshotAsync(page, "publisher-dashboard-ru");
        }
        // Remembered on the account: a new browser signing in gets Turkish.
        var other = await console.NewPageAsync();
        await console.SignInAsync(other, "bob@demo.test");
        await Assertions.Expect(other.Locator("h1")).ToHaveTextAsync(new Text("tr")["Nav.Dashboard"]);
        await other.Locator("select[name='language']").SelectOptionAsync("en");
        await page.Context.CloseAsync();
        await other.Context.CloseAsync();
    }

    [Fact]
    public async Task Two_factor_sign_in_asks_for_the_authenticator_code_and_refuses_a_wrong_one()
    {
        var email = $"tfa-{Guid.NewGuid():N}@publisher.test";
        await using (var db = console.Db())
        {
            var alice = await db.QuerySingleAsync<long>("SELECT id FROM publishers WHERE name = 'Alice''s Blog'");
            await AffiliateTracker.Console.Account.ConsoleUsers.CreateAsync(db, null, email, "second-factor-pass", "publisher", null, alice);
        }
        var page = await console.NewPageAsync();
        await console.SignInAsync(page, email, "second-factor-pass");
        await page.GotoAsync("/account/security");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set up" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Img, new() { Name = "QR code for your authenticator app" })).ToBeVisibleAsync();
        var totp = new Totp(Base32Encoding.ToBytes(await page.Locator("#totp-secret").TextContentAsync()));
        await page.GetByLabel("Code from your authenticator app").FillAsync(totp.ComputeTotp(DateTime.UtcNow));
        await page.GetByRole(AriaRole.Button, new() { Name = "Turn on" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Two-factor sign-in is on");
        await console.ScreenshotAsync(page, "account-security-2fa-on");

        // Signing in now stops at the second step; a wrong code is refused, the app's next code lets the user in.
        var fresh = await console.NewPageAsync();
        await console.SignInAsync(fresh, email, "second-factor-pass");
        await Assertions.Expect(fresh).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/two-factor"));
        await fresh.GetByLabel("Code from your authenticator app").FillAsync("000000");
        await fresh.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await Assertions.Expect(fresh.GetByRole(AriaRole.Alert)).ToContainTextAsync("not right");
        await fresh.GetByLabel("Code from your authenticator app").FillAsync(totp.ComputeTotp(DateTime.UtcNow.AddSeconds(30)));
        await fresh.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await Assertions.Expect(fresh).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/publisher$"));
        await page.Context.CloseAsync();
        await fresh.Context.CloseAsync();
    }
}
