using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AffiliateTracker.Payouts;
using Dapper;

namespace AffiliateTracker.IntegrationTests;

/// Balances, payout runs, clawbacks, reconciliation and reports. Payout runs span the whole network, so each
/// test looks only at its own publishers' lines; offers hold for a year so no other test's clock approves them.
[Collection(PayoutRunCollection.Name)]
public sealed class MoneyTests(ConversionApp app) : IClassFixture<ConversionApp>
{
    private sealed record Seller(TrackerApp.Network Net, string Token);

    private async Task<Seller> SellerAsync(decimal minPayout, decimal payout = 5.00m)
    {
        var n = await app.CreateNetworkAsync(offerExtra: new
        {
            hold_period_hours = 8760,
            goals = new[] { new { code = "sale", name = "Sale", payout_type = "fixed", payout, revenue_type = "fixed", revenue = payout * 2, once_per_click = false } },
        });
        var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/v1/publishers/{n.PublisherId}", new { min_payout = minPayout })).StatusCode);
        return new Seller(n, await app.PostbackTokenAsync(n.AdvertiserId));
    }

    /// A conversion, approved by the advertiser, in PostgreSQL.
    private async Task<string> ApprovedAsync(Seller s, string txid, decimal amount = 100m)
    {
        var click = await app.ClickAndWaitAsync(s.Net);
        var id = (await app.PostbackAsync($"click_id={click}&txid={txid}&amount={amount}&token={s.Token}")).Body["conversion_id"]!.GetValue<string>();
        await app.PostbackAsync($"click_id={click}&txid={txid}&status=approved&token={s.Token}");
        await app.WaitForConversionAsync(id, "approved");
        return id;
    }

    private async Task<JsonObject> CreateRunAsync()
    {
        app.Clock.Advance(TimeSpan.FromSeconds(1)); // the run's period ends after the approvals above
        return await TrackerApp.Created((await app.AdminAsync()).PostAsJsonAsync("/api/v1/payout-runs", new { }));
    }

    private static JsonNode[] LinesOf(JsonObject run, long publisherId) =>
        run["lines"]!.AsArray().Where(l => l!["publisher_id"]!.GetValue<long>() == publisherId).Select(l => l!).ToArray();

    private async Task<JsonObject> BalanceAsync(long publisherId) =>
        (await (await app.AdminAsync()).GetFromJsonAsync<JsonArray>($"/api/v1/balances?publisher_id={publisherId}"))!.Single()!.AsObject();

    private static async Task AssertLedgerHolds()
    {
        await using var conn = await TrackerApp.DbAsync();
        Assert.Empty(await LedgerCheck.RunAsync(conn));
    }

    [Fact]
    public async Task A_publisher_below_the_minimum_gets_no_line_and_one_above_gets_the_databases_sum()
    {
        var small = await SellerAsync(minPayout: 50m);
        var big = await SellerAsync(minPayout: 10m);
        await ApprovedAsync(small, "s-1");
        foreach (var t in new[] { "b-1", "b-2", "b-3" }) await ApprovedAsync(big, t);

        var run = await CreateRunAsync();

        Assert.Empty(LinesOf(run, small.Net.PublisherId));
        var line = LinesOf(run, big.Net.PublisherId).Single();
        Assert.Equal((15.00m, 3), (line["amount"]!.GetValue<decimal>(), line["conversions"]!.GetValue<int>()));
        var balance = await BalanceAsync(big.Net.PublisherId);
        Assert.Equal((0m, 15.00m), (balance["available"]!.GetValue<decimal>(), balance["in_payout"]!.GetValue<decimal>()));
        Assert.Equal(5.00m, (await BalanceAsync(small.Net.PublisherId))["available"]!.GetValue<decimal>());
        await AssertLedgerHolds();
    }

    [Fact]
    public async Task Two_runs_created_at_once_claim_each_conversion_once()
    {
        var s = await SellerAsync(minPayout: 1m);
        for (var i = 0; i < 10; i++) await ApprovedAsync(s, $"race-{i}");
        app.Clock.Advance(TimeSpan.FromSeconds(1));

        var admin = await app.AdminAsync();
        var runs = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/payout-runs", new { }))));

        var lines = runs.SelectMany(r => LinesOf(r, s.Net.PublisherId)).ToList();
        Assert.Equal(50.00m, lines.Sum(l => l["amount"]!.GetValue<decimal>()));
        Assert.Equal(10, lines.Sum(l => l["conversions"]!.GetValue<int>()));
        await using var conn = await TrackerApp.DbAsync();
        Assert.Equal(0, await conn.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM conversions WHERE publisher_id = @PublisherId AND payout_line_id IS NULL", s.Net));
        await AssertLedgerHolds();
    }

    [Fact]
    public async Task Cancelling_a_run_releases_its_conversions()
    {
        var s = await SellerAsync(minPayout: 1m);
        await ApprovedAsync(s, "c-1");
        var run = await CreateRunAsync();
        Assert.Single(LinesOf(run, s.Net.PublisherId));

        var cancelled = await (await app.AdminAsync()).PostAsync($"/api/v1/payout-runs/{run["id"]}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal(5.00m, (await BalanceAsync(s.Net.PublisherId))["available"]!.GetValue<decimal>());
        Assert.Single(LinesOf(await CreateRunAsync(), s.Net.PublisherId)); // free to be claimed again
        await AssertLedgerHolds();
    }

    [Fact]
    public async Task A_conversion_rejected_after_it_was_paid_is_clawed_back_in_the_next_run()
    {
        var s = await SellerAsync(minPayout: 1m);
        var first = await ApprovedAsync(s, "p-1");
        await ApprovedAsync(s, "p-2");
        var run = await CreateRunAsync();
        var admin = await app.AdminAsync();
        var line = LinesOf(run, s.Net.PublisherId).Single();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/payout-runs/{run["id"]}/approve", null)).StatusCode);
        var paid = await admin.PostAsJsonAsync($"/api/v1/payout-runs/{run["id"]}/lines/{line["id"]}/paid", new { payment_reference = "WIRE-123" });
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        Assert.Equal(10.00m, (await BalanceAsync(s.Net.PublisherId))["paid"]!.GetValue<decimal>());

        // The advertiser cancels the first order after the publisher was paid for it.
        var click = (await app.WaitForConversionAsync(first)).ClickId;
        await app.PostbackAsync($"click_id={click}&txid=p-1&status=rejected&reason=refund&token={s.Token}");
        await app.WaitForConversionAsync(first, "rejected");
        Assert.Equal(-5.00m, (await BalanceAsync(s.Net.PublisherId))["available"]!.GetValue<decimal>());

        await ApprovedAsync(s, "p-3", 100m);
        await ApprovedAsync(s, "p-4", 100m);
        var next = LinesOf(await CreateRunAsync(), s.Net.PublisherId).Single();
        Assert.Equal((5.00m, 1), (next["amount"]!.GetValue<decimal>(), next["clawbacks"]!.GetValue<int>())); // 10.00 earned − 5.00 clawed back
        await AssertLedgerHolds();

        var csv = await admin.GetStringAsync($"/api/v1/payout-runs/{run["id"]}/export.csv");
        Assert.Contains($",{s.Net.PublisherId},", csv);
        Assert.Contains("WIRE-123", csv);
    }

    [Fact]
    public async Task Reconciliation_finds_each_kind_of_difference_and_reports_malformed_lines_by_number()
    {
        var s = await SellerAsync(minPayout: 1000m);
        var aId = (await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(s.Net)}&txid=A&amount=100&token={s.Token}")).Body["conversion_id"]!.GetValue<string>();
        await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(s.Net)}&txid=B&amount=50&token={s.Token}");
        await ApprovedAsync(s, "C", 30m);
        var gId = (await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(s.Net)}&txid=G&amount=1&token={s.Token}")).Body["conversion_id"]!.GetValue<string>();
        await app.WaitForConversionAsync(aId);
        await app.WaitForConversionAsync(gId);

        var report = "txid,status,amount,date\nA,approved,100.00,\nB,pending,55.00,\nC,approved,30,\nD,approved,10,\nE,maybe,1,\n\"F,unterminated,1\nH,approved,abc,\n";
        var advertiser = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: s.Net.AdvertiserId));
        var from = app.Clock.GetUtcNow().AddDays(-1).ToString("O");
        var upload = await advertiser.PostAsync($"/api/v1/reconciliations?from={Uri.EscapeDataString(from)}",
            new StringContent(report, Encoding.UTF8, "text/csv"));
        var summary = (await upload.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var counts = summary["counts"]!;
        Assert.Equal((1, 1, 1, 1, 1), (counts["matched"]!.GetValue<int>(), counts["status_differs"]!.GetValue<int>(),
            counts["amount_differs"]!.GetValue<int>(), counts["only_theirs"]!.GetValue<int>(), counts["only_ours"]!.GetValue<int>()));
        Assert.Equal([6, 7, 8], summary["malformed"]!.AsArray().Select(m => m!["line"]!.GetValue<int>()));
        Assert.Equal(3, summary["rows_malformed"]!.GetValue<int>());

        // Only admins apply; the advertiser's own view is scoped.
        var id = summary["id"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.Forbidden, (await advertiser.PostAsync($"/api/v1/reconciliations/{id}/apply", null)).StatusCode);
        var stranger = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: (await app.CreateNetworkAsync()).AdvertiserId));
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/api/v1/reconciliations/{id}")).StatusCode);

        var admin = await app.AdminAsync();
        var applied = (await (await admin.PostAsync($"/api/v1/reconciliations/{id}/apply", null)).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(1, applied["applied_changes"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync($"/api/v1/reconciliations/{id}/apply", null)).StatusCode);

        await using var conn = await TrackerApp.DbAsync();
        var audit = await conn.QuerySingleAsync<(string From, string To, string Actor, string Reason)>(
            "SELECT from_status, to_status, actor, reason FROM conversion_status_history WHERE conversion_id = @aId AND from_status IS NOT NULL", new { aId });
        Assert.Equal(("pending", "approved", "admin", $"reconciliation {id}, line 2"), audit);
        await AssertLedgerHolds();
    }

    [Fact]
    public async Task A_publisher_sees_only_its_own_balance_and_an_advertiser_none()
    {
        var mine = await SellerAsync(minPayout: 1000m);
        var theirs = await SellerAsync(minPayout: 1000m);
        await ApprovedAsync(mine, "m-1");
        await ApprovedAsync(theirs, "t-1");
        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: mine.Net.PublisherId));

        var own = (await publisher.GetFromJsonAsync<JsonArray>($"/api/v1/balances?publisher_id={theirs.Net.PublisherId}"))!;

        Assert.Equal([mine.Net.PublisherId], own.Select(b => b!["publisher_id"]!.GetValue<long>()));
        var advertiser = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: mine.Net.AdvertiserId));
        Assert.Equal(HttpStatusCode.Forbidden, (await advertiser.GetAsync("/api/v1/balances")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await publisher.PostAsJsonAsync("/api/v1/payout-runs", new { })).StatusCode);
    }

    [Fact]
    public async Task The_report_counts_clicks_and_conversions_per_offer_in_the_callers_scope()
    {
        var s = await SellerAsync(minPayout: 1000m);
        await ApprovedAsync(s, "r-1");
        var click = await app.ClickAndWaitAsync(s.Net, "?sub1=placement-7");
        var pending = await app.PostbackAsync($"click_id={click}&txid=r-2&token={s.Token}");
        await TrackerApp.WaitForClickRowAsync(click);
        // The conversion travels its own stream and flusher: the click's row says nothing about it.
        await app.WaitForConversionAsync(pending.Body["conversion_id"]!.GetValue<string>());

        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: s.Net.PublisherId));
        var from = Uri.EscapeDataString(app.Clock.GetUtcNow().AddDays(-1).ToString("O"));
        var to = Uri.EscapeDataString(app.Clock.GetUtcNow().AddDays(1).ToString("O"));
        var report = (await publisher.GetFromJsonAsync<JsonArray>($"/api/v1/reports?group_by=offer&from={from}&to={to}"))!;
        var byOffer = report.Single()!;
        Assert.Equal((s.Net.OfferId, 2L, 1L, 1L, 10.00m), (byOffer["offer_id"]!.GetValue<long>(), byOffer["clicks"]!.GetValue<long>(),
            byOffer["approved"]!.GetValue<long>(), byOffer["pending"]!.GetValue<long>(), byOffer["payout"]!.GetValue<decimal>()));
        Assert.Null(byOffer["revenue"]);
        Assert.Equal(5.00m, byOffer["epc"]!.GetValue<decimal>());

        var bySub = (await publisher.GetFromJsonAsync<JsonArray>($"/api/v1/reports?group_by=sub1&from={from}&to={to}"))!;
        Assert.Contains(bySub, r => r!["sub1"]?.GetValue<string>() == "placement-7" && r["clicks"]!.GetValue<long>() == 1);
        var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/api/v1/reports?group_by=hour,sub1")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/api/v1/reports?tz=Mars/Olympus")).StatusCode);
    }
}
