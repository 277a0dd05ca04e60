using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;

namespace AffiliateTracker.IntegrationTests;

/// Traffic details worked out by the flusher (device, OS, browser, network, data-centre flag), their rollups and
/// reports, the data-centre fraud flag, and what traffic cost: on the link and uploaded, with profit and ROI.
public sealed class TrafficDetailsTests(ConversionApp app) : IClassFixture<ConversionApp>
{
    private const string Iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    private const string WindowsChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    private const string AndroidChrome = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36";
    private const string Telekom = "80.128.0.1", Google = "8.8.8.8", Aws = "52.95.110.1";

    private async Task<string> ClickAsync(ConversionApp.Network n, string ua, string ip, string query = "")
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/c/{n.LinkCode}{query}");
        // A distinct user agent per click keeps each one unique; the suffix does not change what it is.
        request.Headers.TryAddWithoutValidation("User-Agent", ua);
        request.Headers.Add(TrackerApp.RemoteIpHeader, ip);
        var r = await app.Browser().SendAsync(request);
        Assert.Equal(HttpStatusCode.Found, r.StatusCode);
        return TrackerApp.ClickIdOf(r);
    }

    private (string From, string To) Period() => (Uri.EscapeDataString(app.Clock.GetUtcNow().AddDays(-1).ToString("O")),
        Uri.EscapeDataString(app.Clock.GetUtcNow().AddDays(1).ToString("O")));

    [Fact]
    public async Task Clicks_carry_device_os_browser_and_network_and_the_rollups_equal_the_click_rows_grouped_the_same_way()
    {
        var n = await app.CreateNetworkAsync();
        var ids = new List<string>();
        foreach (var (ua, ip, times) in new[] { (Iphone, Telekom, 3), (WindowsChrome, Google, 2), (AndroidChrome, Aws, 1), (Iphone, Google, 1) })
            for (var i = 0; i < times; i++) ids.Add(await ClickAsync(n, ua, ip));
        foreach (var id in ids) await TrackerApp.WaitForClickRowAsync(id);

        await using var db = await TrackerApp.DbAsync();
        var first = await db.QuerySingleAsync<(string, string, string, string, int, bool)>(
            "SELECT device_type, os, os_version, browser, asn, is_datacenter FROM clicks WHERE click_id = @id", new { id = ids[0] });
        Assert.Equal(("mobile", "iOS", "18", "Mobile Safari", 3320, false), first);

        var byDevice = (await db.QueryAsync<(string, string, string, string, long)>("""
            SELECT coalesce(device_type, ''), coalesce(os, ''), coalesce(os_version, ''), coalesce(browser, ''), count(*)
            FROM clicks WHERE offer_id = @OfferId GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            """, n)).ToList();
        var deviceRollup = (await db.QueryAsync<(string, string, string, string, long)>("""
            SELECT device_type, os, os_version, browser, sum(clicks) FROM click_rollup_device WHERE offer_id = @OfferId GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            """, n)).ToList();
        Assert.Equal(byDevice, deviceRollup);
        Assert.Equal(3, deviceRollup.Count);

        var byNetwork = (await db.QueryAsync<(int, bool, long)>("""
            SELECT coalesce(asn, 0), coalesce(is_datacenter, false), count(*) FROM clicks WHERE offer_id = @OfferId GROUP BY 1, 2 ORDER BY 1, 2
            """, n)).ToList();
        var networkRollup = (await db.QueryAsync<(int, bool, long)>("""
            SELECT asn, is_datacenter, sum(clicks) FROM click_rollup_network WHERE offer_id = @OfferId GROUP BY 1, 2 ORDER BY 1, 2
            """, n)).ToList();
        Assert.Equal(byNetwork, networkRollup);
        Assert.Equal([(3320, false, 3L), (15169, true, 3L), (16509, true, 1L)], networkRollup);
    }

    [Fact]
    public async Task Reports_group_by_device_browser_network_and_datacenter_in_the_callers_scope()
    {
        var n = await app.CreateNetworkAsync();
        await ClickAsync(n, Iphone, Telekom);
        await ClickAsync(n, Iphone, Telekom + "0");
        await TrackerApp.WaitForClickRowAsync(await ClickAsync(n, WindowsChrome, Google));
        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));
        var (from, to) = Period();

        async Task<List<(string?, long)>> ByAsync(string dimension) =>
            (await publisher.GetFromJsonAsync<JsonArray>($"/api/v1/reports?group_by={dimension}&from={from}&to={to}"))!
            .Select(r => (r![dimension]?.ToString(), r["clicks"]!.GetValue<long>())).ToList();

        for (var i = 0; i < 100 && (await ByAsync("device_type")).Sum(r => r.Item2) < 3; i++) await Task.Delay(100);
        Assert.Equal([("desktop", 1L), ("mobile", 2L)], await ByAsync("device_type"));
        Assert.Equal([("Chrome", 1L), ("Mobile Safari", 2L)], await ByAsync("browser"));
        Assert.Equal([("false", 2L), ("true", 1L)], await ByAsync("datacenter"));
        var networks = (await publisher.GetFromJsonAsync<JsonArray>($"/api/v1/reports?group_by=asn&from={from}&to={to}"))!;
        Assert.Contains(networks, r => r!["asn"]!.GetValue<int>() == 15169 && r["network"]!.GetValue<string>() == "Google LLC");
        var mixed = await publisher.GetAsync($"/api/v1/reports?group_by=browser,asn&from={from}&to={to}");
        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
    }

    [Fact]
    public async Task A_conversion_from_a_data_centre_click_is_held_for_review_and_carries_the_clicks_details()
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var fromCloud = await ClickAsync(n, WindowsChrome, Aws);
        var fromHome = await ClickAsync(n, Iphone, Telekom);
        await TrackerApp.WaitForClickRowAsync(fromCloud);
        await TrackerApp.WaitForClickRowAsync(fromHome);
        app.Clock.Advance(TimeSpan.FromMinutes(5));

        var cloud = await app.PostbackAsync($"click_id={fromCloud}&txid=dc-{fromCloud}&status=approved&token={token}");
        var home = await app.PostbackAsync($"click_id={fromHome}&txid=home-{fromHome}&status=approved&token={token}");

        Assert.Contains("datacenter", cloud.Body["message"]!.GetValue<string>());
        var held = await app.WaitForConversionAsync(cloud.Body["conversion_id"]!.GetValue<string>());
        var clean = await app.WaitForConversionAsync(home.Body["conversion_id"]!.GetValue<string>());
        Assert.Equal(("pending", "datacenter"), (held.Status, string.Join(",", held.Flags)));
        Assert.Equal(("approved", ""), (clean.Status, string.Join(",", clean.Flags)));
        await using var db = await TrackerApp.DbAsync();
        Assert.Equal(("desktop", "Chrome", 16509, true), await db.QuerySingleAsync<(string, string, int, bool)>(
            "SELECT device_type, browser, asn, is_datacenter FROM conversions WHERE id = @Id", held));
    }

    [Fact]
    public async Task Cost_on_the_link_and_uploaded_cost_give_profit_and_roi_as_computed_by_hand()
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));
        // fb: four clicks at 0.25 each, two of them convert (5.00 each). tt: one click, its cost uploaded (3.00), it converts.
        var fb = new List<string>();
        for (var i = 0; i < 4; i++) fb.Add(await ClickAsync(n, $"{Iphone} fb{i}", Telekom, "?sub1=fb&cost=0.25"));
        var tt = await ClickAsync(n, $"{Iphone} tt", Telekom, "?sub1=tt");
        foreach (var id in fb.Append(tt)) await TrackerApp.WaitForClickRowAsync(id);
        app.Clock.Advance(TimeSpan.FromMinutes(5));
        foreach (var id in new[] { fb[0], fb[1], tt })
            Assert.Equal(200, (await app.PostbackAsync($"click_id={id}&txid=roi-{id}&token={token}")).Status);
        var csv = $"day,offer_id,sub1,amount\n{app.Clock.GetUtcNow():yyyy-MM-dd},{n.OfferId},tt,3.00\n";
        var saved = await publisher.PostAsync("/api/v1/costs/csv", new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        await TrackerApp.WaitForRowCountAsync("SELECT count(*) FROM conversions WHERE txid LIKE 'roi-%' AND offer_id = @OfferId", n, 3);

        var (from, to) = Period();
        var rows = (await publisher.GetFromJsonAsync<JsonArray>($"/api/v1/reports?group_by=sub1&from={from}&to={to}"))!
            .ToDictionary(r => r!["sub1"]!.GetValue<string>(), r => r!);
        Assert.Equal((4L, 1.00m, 10.00m, 9.00m, 900.00m), (rows["fb"]["clicks"]!.GetValue<long>(), rows["fb"]["cost"]!.GetValue<decimal>(),
            rows["fb"]["payout"]!.GetValue<decimal>(), rows["fb"]["profit"]!.GetValue<decimal>(), rows["fb"]["roi"]!.GetValue<decimal>()));
        Assert.Equal((1L, 3.00m, 5.00m, 2.00m, 66.67m), (rows["tt"]["clicks"]!.GetValue<long>(), rows["tt"]["cost"]!.GetValue<decimal>(),
            rows["tt"]["payout"]!.GetValue<decimal>(), rows["tt"]["profit"]!.GetValue<decimal>(), rows["tt"]["roi"]!.GetValue<decimal>()));
        var advertiser = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: n.AdvertiserId));
        var seenByAdvertiser = (await advertiser.GetFromJsonAsync<JsonArray>($"/api/v1/reports?group_by=sub1&from={from}&to={to}"))!;
        Assert.All(seenByAdvertiser, r => Assert.Null(r!["cost"]));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("5000")]
    [InlineData("0.1234567")]
    [InlineData("1e3")]
    [InlineData("abc")]
    public async Task A_negative_absurd_or_malformed_cost_on_the_link_is_a_400(string cost)
    {
        var n = await app.CreateNetworkAsync();
        var r = await app.ClickAsync($"/c/{n.LinkCode}?cost={Uri.EscapeDataString(cost)}");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
    }

    [Fact]
    public async Task An_upload_with_one_bad_row_saves_nothing_and_says_which_row()
    {
        var n = await app.CreateNetworkAsync();
        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));
        var day = app.Clock.GetUtcNow().ToString("yyyy-MM-dd");
        var body = new { costs = new[]
        {
            new { day, offer_id = n.OfferId, sub1 = "a", amount = "10.00", currency = (string?)null },
            new { day, offer_id = n.OfferId, sub1 = "b", amount = "-5", currency = (string?)null },
            new { day, offer_id = n.OfferId, sub1 = "c", amount = "99999999", currency = (string?)null },
            new { day = "2001-01-01", offer_id = n.OfferId, sub1 = "d", amount = "1", currency = (string?)null },
            new { day, offer_id = n.OfferId, sub1 = "e", amount = "1", currency = (string?)"XYZ" },
        } };

        var r = await publisher.PostAsJsonAsync("/api/v1/costs", body);
        var message = (await r.Content.ReadFromJsonAsync<JsonObject>())!["message"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("Row 2: amount '-5'", message);
        Assert.Contains("Row 3: amount must be at most", message);
        Assert.Contains("Row 4: day must be within", message);
        Assert.Contains("Row 5: currency XYZ has no exchange rate", message);
        Assert.Equal(0, await ConversionApp.CountAsync("SELECT count(*) FROM traffic_costs WHERE offer_id = @OfferId", n));
        var advertiser = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: n.AdvertiserId));
        Assert.Equal(HttpStatusCode.Forbidden, (await advertiser.PostAsJsonAsync("/api/v1/costs", body)).StatusCode);
        var nullRow = await publisher.PostAsJsonAsync("/api/v1/costs", new { costs = new object?[] { null } });
        Assert.Equal(HttpStatusCode.BadRequest, nullRow.StatusCode);
                // A repeated column is read from its first place, not a server error.
        var repeated = await publisher.PostAsync("/api/v1/costs/csv",
            new StringContent($"day,offer_id,amount,amount\n{day},{n.OfferId},1.00,2.00\n", Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        Assert.Equal(1.00m, await AmountAsync(n.OfferId));
    }

    private static async Task<decimal> AmountAsync(long offerId)
    {
        await using var db = await TrackerApp.DbAsync();
        return await db.ExecuteScalarAsync<decimal>("SELECT amount FROM traffic_costs WHERE offer_id = @offerId", new { offerId });
    }
}
