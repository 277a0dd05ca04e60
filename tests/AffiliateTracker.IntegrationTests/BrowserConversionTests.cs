using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AffiliateTracker.Conversions;
using Dapper;

namespace AffiliateTracker.IntegrationTests;

/// The pixel is a browser's report: its txid and amount are the visitor's to forge. It is bounded by the goal,
/// waits for the advertiser's confirmation, and only a pixel the advertiser signed is taken at its word.
[Collection(HoldApprovalCollection.Name)]
public sealed class BrowserConversionTests(ConversionApp app) : IClassFixture<ConversionApp>
{
    private static object HalfOfTheSale(object? goalExtra = null, object? offerExtra = null)
    {
        var goal = JsonNodeOf(new { code = "sale", name = "Sale", payout_type = "percent", payout = 50m, revenue_type = "percent", revenue = 60m, once_per_click = false });
        Merge(goal, goalExtra);
        var offer = JsonNodeOf(new { hold_period_hours = 24 });
        offer["goals"] = new JsonArray(goal);
        Merge(offer, offerExtra);
        return offer;
    }

    private static JsonObject JsonNodeOf(object o) => System.Text.Json.JsonSerializer.SerializeToNode(o)!.AsObject();
    private static void Merge(JsonObject into, object? extra)
    {
        if (extra is null) return;
        foreach (var (k, v) in JsonNodeOf(extra)) into[k] = v?.DeepClone();
    }

    private async Task PixelAsync(long offerId, string clickId, string query)
    {
        var pixel = new HttpRequestMessage(HttpMethod.Get, $"/pixel?offer_id={offerId}&{query}");
        pixel.Headers.Add("Cookie", $"atc_{offerId}={clickId}");
        var r = await app.Browser().SendAsync(pixel);
        Assert.Equal("image/gif", r.Content.Headers.ContentType!.MediaType);
    }

    private static async Task<ConversionRow?> ConversionOfAsync(string clickId, string txid)
    {
        await using var conn = await TrackerApp.DbAsync();
        return await conn.QuerySingleOrDefaultAsync<ConversionRow>("SELECT * FROM conversions WHERE click_id = @clickId AND txid = @txid", new { clickId, txid });
    }

    private async Task<ConversionRow> WaitForAsync(string clickId, string txid, Func<ConversionRow, bool>? until = null)
    {
        for (var i = 0; i < 200; i++)
        {
            await app.FlushAsync();
            if (await ConversionOfAsync(clickId, txid) is { } row && (until is null || until(row))) return row;
            await Task.Delay(25);
        }
        throw new TimeoutException($"No conversion for {clickId} / {txid} as expected");
    }

    private async Task<decimal> AvailableAsync(long publisherId)
    {
        var balances = (await (await app.AdminAsync()).GetFromJsonAsync<JsonArray>($"/api/v1/balances?publisher_id={publisherId}"))!;
        return balances.Sum(b => b!["available"]!.GetValue<decimal>());
    }

    private async Task<string> LoggedDecisionAsync(string clickId, string txid)
    {
        var log = await app.PostbackLogAsync($"click_id={clickId}&txid={txid}");
        return log.Single()!["decision"]!.GetValue<string>();
    }

    [Fact]
    public async Task A_pixel_with_a_huge_amount_is_not_paid_after_the_hold_and_the_advertisers_postback_sets_the_payout()
    {
        var n = await app.CreateNetworkAsync(offerExtra: HalfOfTheSale());
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);

        // The attack: the visitor loads the pixel with an amount of their choosing.
        await PixelAsync(n.OfferId, click, "txid=forged-1&amount=1000000.00");
        var forged = await WaitForAsync(click, "forged-1");
        Assert.Equal(("pending", true, 500000.00m), (forged.Status, forged.AwaitingConfirmation, forged.Payout));

        app.Clock.Advance(TimeSpan.FromDays(2));
        await app.Service<HoldWorker>().ApproveDueAsync();
        Assert.Equal("pending", (await ConversionOfAsync(click, "forged-1"))!.Status);
        Assert.Equal(0m, await AvailableAsync(n.PublisherId));

        // The advertiser's server reports the real order: its amount wins, and the conversion may now be approved.
        var (status, body) = await app.PostbackAsync($"click_id={click}&txid=forged-1&amount=120.00&token={token}");
        Assert.Equal((200, "updated", forged.Id), (status, body["result"]!.GetValue<string>(), body["conversion_id"]!.GetValue<string>()));
        var confirmed = await WaitForAsync(click, "forged-1", c => !c.AwaitingConfirmation);
        Assert.Equal((120.00m, 60.00m, 72.00m), (confirmed.Amount, confirmed.Payout, confirmed.Revenue));

        await app.Service<HoldWorker>().ApproveDueAsync();
        Assert.Equal("approved", (await ConversionOfAsync(click, "forged-1"))!.Status);
        Assert.Equal(60.00m, await AvailableAsync(n.PublisherId));
        var history = (await (await app.AdminAsync()).GetFromJsonAsync<JsonObject>($"/api/v1/conversions/{forged.Id}"))!["history"]!.AsArray();
        Assert.Contains(history, h => h!["reason"]!.GetValue<string>().Contains("1000000.0000 -> 120.0000")
                                      && h["actor"]!.GetValue<string>() == $"advertiser:{n.AdvertiserId}");

        // A repeat of the confirmation is a duplicate and changes nothing.
        var again = await app.PostbackAsync($"click_id={click}&txid=forged-1&amount=99.00&token={token}");
        Assert.Equal("duplicate", again.Body["result"]!.GetValue<string>());
        await app.FlushAsync();
        Assert.Equal(60.00m, (await ConversionOfAsync(click, "forged-1"))!.Payout);
    }

    [Fact]
    public async Task An_approval_postback_with_an_amount_confirms_a_pixel_conversion_at_that_amount()
    {
        var n = await app.CreateNetworkAsync(offerExtra: HalfOfTheSale());
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        await PixelAsync(n.OfferId, click, "txid=order-7&amount=500.00");
        await WaitForAsync(click, "order-7");

        var (status, body) = await app.PostbackAsync($"click_id={click}&txid=order-7&status=approved&amount=80.00&token={token}");

        Assert.Equal((200, "updated", "approved"), (status, body["result"]!.GetValue<string>(), body["status"]!.GetValue<string>()));
        var row = await WaitForAsync(click, "order-7", c => c.Status == "approved");
        Assert.Equal((80.00m, 40.00m, false), (row.Amount, row.Payout, row.AwaitingConfirmation));
    }

    [Fact]
    public async Task A_pixel_amount_above_the_goals_maximum_is_capped_and_flagged_and_a_fixed_pixel_amount_replaces_the_browsers()
    {
        var capped = await app.CreateNetworkAsync(offerExtra: HalfOfTheSale(new { max_amount = 300.00m }));
        var click = await app.ClickAndWaitAsync(capped);
        await PixelAsync(capped.OfferId, click, "txid=big-1&amount=1000000.00");
        await PixelAsync(capped.OfferId, click, "txid=small-1&amount=200.00");

        var big = await WaitForAsync(click, "big-1");
        var small = await WaitForAsync(click, "small-1");
        Assert.Equal((300.00m, 150.00m), (big.Amount, big.Payout));
        Assert.Contains("amount_over_limit", big.Flags);
        Assert.Equal((200.00m, 100.00m), (small.Amount, small.Payout));
        Assert.Empty(small.Flags);

        var fixedAmount = await app.CreateNetworkAsync(offerExtra: HalfOfTheSale(new { pixel_amount = 40.00m }));
        var other = await app.ClickAndWaitAsync(fixedAmount);
        await PixelAsync(fixedAmount.OfferId, other, "txid=any-1&amount=999999.00");
        var row = await WaitForAsync(other, "any-1");
        Assert.Equal((40.00m, 20.00m), (row.Amount, row.Payout));
    }

    [Fact]
    public async Task A_pixel_the_advertiser_signed_is_taken_at_its_word_and_a_tampered_or_expired_one_writes_nothing()
    {
        var n = await app.CreateNetworkAsync(offerExtra: HalfOfTheSale(new { max_amount = 100.00m }));
        var key = await app.SigningKeyAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        var expires = app.Clock.GetUtcNow().AddHours(1).ToUnixTimeSeconds();

        var sig = SignPixel(key, n.OfferId, "", "signed-1", "2500.00", expires);
        await PixelAsync(n.OfferId, click, $"txid=signed-1&amount=2500.00&expires={expires}&sig={sig}");
        var row = await WaitForAsync(click, "signed-1");
        Assert.Equal((2500.00m, 1250.00m, false), (row.Amount, row.Payout, row.AwaitingConfirmation));
        Assert.Empty(row.Flags);

        // The same signature over another amount, and a signature whose time has passed.
        await PixelAsync(n.OfferId, click, $"txid=signed-2&amount=9999.00&expires={expires}&sig={SignPixel(key, n.OfferId, "", "signed-2", "25.00", expires)}");
        Assert.Equal("bad_signature", await LoggedDecisionAsync(click, "signed-2"));
        var past = app.Clock.GetUtcNow().AddSeconds(-1).ToUnixTimeSeconds();
        await PixelAsync(n.OfferId, click, $"txid=signed-3&amount=25.00&expires={past}&sig={SignPixel(key, n.OfferId, "", "signed-3", "25.00", past)}");
        Assert.Equal("signature_expired", await LoggedDecisionAsync(click, "signed-3"));

        await app.FlushAsync();
        Assert.Equal(1, await ConversionApp.CountAsync("SELECT count(*) FROM conversions WHERE click_id = @click", new { click }));
    }

    [Fact]
    public async Task An_offer_that_opts_in_lets_the_hold_approve_pixel_conversions()
    {
        var n = await app.CreateNetworkAsync(offerExtra: HalfOfTheSale(offerExtra: new { pixel_auto_approve = true }));
        var click = await app.ClickAndWaitAsync(n);
        await PixelAsync(n.OfferId, click, "txid=trusted-1&amount=10.00");
        Assert.False((await WaitForAsync(click, "trusted-1")).AwaitingConfirmation);

        app.Clock.Advance(TimeSpan.FromDays(2));
        await app.Service<HoldWorker>().ApproveDueAsync();
        Assert.Equal("approved", (await ConversionOfAsync(click, "trusted-1"))!.Status);
    }

    [Fact]
    public async Task An_approval_through_the_api_confirms_a_pixel_conversion()
    {
        var n = await app.CreateNetworkAsync(offerExtra: HalfOfTheSale());
        var click = await app.ClickAndWaitAsync(n);
        await PixelAsync(n.OfferId, click, "txid=api-1&amount=10.00");
        var row = await WaitForAsync(click, "api-1");

        var advertiser = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: n.AdvertiserId));
        var r = await advertiser.PostAsJsonAsync($"/api/v1/conversions/{row.Id}/status", new { status = "approved", reason = "order shipped" });

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(("approved", false), ((await ConversionOfAsync(click, "api-1"))!.Status, (await ConversionOfAsync(click, "api-1"))!.AwaitingConfirmation));
    }

    [Fact]
    public async Task A_first_postback_that_says_approved_gets_the_same_flags_and_caps_as_a_pending_one()
    {
        var n = await app.CreateNetworkAsync(offerExtra: new { daily_conversion_cap = 1 });
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var first = await app.ClickAndWaitAsync(n);
        var second = await app.ClickAndWaitAsync(n);
        var instant = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}", "Mozilla/5.0 Firefox/130.0 instant " + Guid.NewGuid()));

        var ok = await app.PostbackAsync($"click_id={first}&txid=a-1&status=approved&token={token}");
        var overCap = await app.PostbackAsync($"click_id={second}&txid=a-2&status=approved&token={token}");
        var tooFast = await app.PostbackAsync($"click_id={instant}&txid=a-3&status=approved&token={token}");

        Assert.Equal("approved", (await app.WaitForConversionAsync(ok.Body["conversion_id"]!.GetValue<string>())).Status);
        var capped = await app.WaitForConversionAsync(overCap.Body["conversion_id"]!.GetValue<string>());
        var fast = await app.WaitForConversionAsync(tooFast.Body["conversion_id"]!.GetValue<string>());
        Assert.Equal(("pending", "pending"), (capped.Status, fast.Status));
        Assert.Contains("over_cap", capped.Flags);
        Assert.Contains("too_fast", fast.Flags);
    }

    private static string SignPixel(string key, long offerId, string goal, string txid, string amount, long expires) =>
        Convert.ToHexString(System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.ASCII.GetBytes(key),
            System.Text.Encoding.UTF8.GetBytes($"pixel\n{offerId}\n{goal}\n{txid}\n{amount}\n{expires}"))).ToLowerInvariant();
}
