using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AffiliateTracker.Conversions;

namespace AffiliateTracker.IntegrationTests;

/// Money is checked as text wherever it enters: a parser that rounds past 28 digits would take
/// 1.000000000000000000000000000001 as 1, and a trailing NUL as nothing at all.
public sealed class ExactMoneyInputTests(ConversionApp app) : IClassFixture<ConversionApp>
{
    // As they travel in a query string, and as the same text in a JSON body.
    public static TheoryData<string, string> Amounts => new()
    {
        { "1.000000000000000000000000000001", "1.000000000000000000000000000001" },
        { "0.00000000000000000000000000000001", "0.00000000000000000000000000000001" },
        { "1.23456", "1.23456" },
        { "5%00", "\"5\\u0000\"" },
    };

    [Theory]
    [MemberData(nameof(Amounts))]
    public async Task A_postback_amount_with_more_than_four_decimals_or_a_nul_is_refused_naming_the_field(string query, string _)
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);

        var (status, body) = await app.PostbackAsync($"click_id={click}&txid=exact-1&amount={query}&token={token}");

        Assert.Equal((400, "invalid_amount"), (status, body["error"]!.GetValue<string>()));
        Assert.StartsWith("amount ", body["message"]!.GetValue<string>());
        await app.FlushAsync();
        Assert.Equal(0, await ConversionApp.CountAsync("SELECT count(*) FROM conversions WHERE click_id = @click", new { click }));
    }

    [Theory]
    [MemberData(nameof(Amounts))]
    public async Task A_pixel_amount_with_more_than_four_decimals_or_a_nul_writes_nothing_and_the_log_says_why(string query, string _)
    {
        var n = await app.CreateNetworkAsync();
        var click = await app.ClickAndWaitAsync(n);
        var txid = $"exact-{Guid.NewGuid():N}";
        var pixel = new HttpRequestMessage(HttpMethod.Get, $"/pixel?offer_id={n.OfferId}&txid={txid}&amount={query}");
        pixel.Headers.Add("Cookie", $"atc_{n.OfferId}={click}");

        Assert.Equal("image/gif", (await app.Browser().SendAsync(pixel)).Content.Headers.ContentType!.MediaType);

        var log = await app.PostbackLogAsync($"txid={txid}");
        Assert.Equal("invalid_amount", log.Single()!["decision"]!.GetValue<string>());
        Assert.StartsWith("amount ", log.Single()!["message"]!.GetValue<string>());
        await app.FlushAsync();
        Assert.Equal(0, await ConversionApp.CountAsync("SELECT count(*) FROM conversions WHERE click_id = @click", new { click }));
    }

    [Theory]
    [MemberData(nameof(Amounts))]
    public async Task Offer_goal_override_and_minimum_payouts_refuse_inexact_amounts_naming_the_field(string _, string json)
    {
        var admin = await app.AdminAsync();
        var n = await app.CreateNetworkAsync();
        var name = $"Inexact {Guid.NewGuid():N}";

        var offer = await SendJson(admin, HttpMethod.Post, "/api/v1/offers",
            $$"""{"advertiser_id":{{n.AdvertiserId}},"name":"{{name}}","landing_url":"https://shop.example/","goals":[{"code":"sale","payout_type":"fixed","payout":{{json}}}]}""");
        var goal = await SendJson(admin, HttpMethod.Put, $"/api/v1/offers/{n.OfferId}/goals/sale", $$"""{"payout_type":"fixed","payout":{{json}}}""");
        var overrides = await SendJson(admin, HttpMethod.Put, $"/api/v1/offers/{n.OfferId}/publishers/{n.PublisherId}",
            $$"""{"payout_overrides":[{"goal":"sale","payout_type":"fixed","payout":{{json}}}]}""");
        var publisher = await SendJson(admin, HttpMethod.Post, "/api/v1/publishers", $$"""{"name":"{{name}}","min_payout":{{json}}}""");
        var maxAmount = await SendJson(admin, HttpMethod.Put, $"/api/v1/offers/{n.OfferId}/goals/sale", $$"""{"payout_type":"fixed","payout":5,"max_amount":{{json}}}""");

        Assert.Equal(("validation_failed", "goals[0].payout"), offer);
        Assert.Equal(("validation_failed", "payout"), goal);
        Assert.Equal(("validation_failed", "payout_overrides[0].payout"), overrides);
        Assert.Equal(("validation_failed", "min_payout"), publisher);
        Assert.Equal(("validation_failed", "max_amount"), maxAmount);
        Assert.Equal(0, await ConversionApp.CountAsync("SELECT count(*) FROM offers WHERE name = @name", new { name }));
        Assert.Equal(0, await ConversionApp.CountAsync("SELECT count(*) FROM publishers WHERE name = @name", new { name }));
        var unchanged = (await admin.GetFromJsonAsync<JsonObject>($"/api/v1/offers/{n.OfferId}"))!;
        Assert.Equal(5.00m, unchanged["goals"]![0]!["payout"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Reconciliation_rows_with_inexact_amounts_or_a_nul_are_malformed_lines_naming_the_amount()
    {
        var n = await app.CreateNetworkAsync();
        var advertiser = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: n.AdvertiserId));
        var report = "txid,status,amount\nA,approved,1.000000000000000000000000000001\nB,approved,0.00000000000000000000000000000001\n" +
                     "C,approved,5\0\nD,approved,12.500000\n";

        var upload = await advertiser.PostAsync("/api/v1/reconciliations", new StringContent(report, Encoding.UTF8, "text/csv"));

        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var malformed = (await upload.Content.ReadFromJsonAsync<JsonObject>())!["malformed"]!.AsArray();
        Assert.Equal([2, 3, 4], malformed.Select(m => m!["line"]!.GetValue<int>()));
        Assert.All(malformed, m => Assert.StartsWith("amount ", m!["problem"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Zeros_past_the_fourth_decimal_are_exact_and_accepted()
    {
        var n = await app.CreateNetworkAsync(offerExtra: new { goals = new[] { new { code = "sale", payout_type = "percent", payout = 10m, once_per_click = false } } });
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var (status, body) = await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(n)}&txid=zeros-1&amount=12.500000&token={token}");

        Assert.Equal(200, status);
        var row = await app.WaitForConversionAsync(body["conversion_id"]!.GetValue<string>());
        Assert.Equal((12.50m, 1.25m), (row.Amount, row.Payout));
    }

    private static async Task<(string Error, string? Field)> SendJson(HttpClient client, HttpMethod method, string path, string json)
    {
        var r = await client.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
        var body = (await r.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)r.StatusCode} {body.ToJsonString()}");
        return (body["error"]!.GetValue<string>(), body["field"]?.GetValue<string>());
    }
}
