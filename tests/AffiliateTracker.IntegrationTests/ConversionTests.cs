using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AffiliateTracker.Conversions;
using AffiliateTracker.Payouts;
using Dapper;

namespace AffiliateTracker.IntegrationTests;

[Collection(HoldApprovalCollection.Name)]
public sealed class ConversionTests(ConversionApp app) : IClassFixture<ConversionApp>
{
    private static readonly object[] PercentGoals =
        [new { code = "sale", name = "Sale", payout_type = "percent", payout = 7.5m, revenue_type = "percent", revenue = 12.5m, once_per_click = false }];
    private static readonly object PercentGoal = new { goals = PercentGoals };

    [Fact]
    public async Task Click_then_postback_creates_one_pending_conversion_for_the_right_publisher_with_its_money()
    {
        var n = await app.CreateNetworkAsync(offerExtra: new { hold_period_hours = 72 });
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);

        var (status, body) = await app.PostbackAsync($"click_id={click}&txid=order-1&token={token}");

        Assert.Equal(200, status);
        Assert.Equal("created", body["result"]!.GetValue<string>());
        var row = await app.WaitForConversionAsync(body["conversion_id"]!.GetValue<string>());
        Assert.Equal((n.PublisherId, n.OfferId, "pending", "s-one", "s-two"), (row.PublisherId, row.OfferId, row.Status, row.Sub1, row.Sub2));
        Assert.Equal((5.00m, 8.00m), (row.Payout, row.Revenue));
        Assert.Equal(TimeSpan.FromHours(72), row.HoldUntil - row.CreatedAt);
        Assert.Empty(row.Flags);
        Assert.Equal(1, await ConversionApp.CountAsync("SELECT count(*) FROM conversions WHERE click_id = @click", new { click }));
    }

    [Fact]
    public async Task Percent_payouts_are_exact_to_the_cent_and_honour_publisher_overrides()
    {
        var n = await app.CreateNetworkAsync(offerExtra: PercentGoal);
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var first = await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(n)}&txid=p-1&amount=19.99&token={token}");
        var row = await app.WaitForConversionAsync(first.Body["conversion_id"]!.GetValue<string>());
        Assert.Equal((19.99m, 1.50m, 2.50m), (row.Amount, row.Payout, row.Revenue)); // 1.49925 → 1.50, 2.49875 → 2.50

        var admin = await app.AdminAsync();
        await admin.PutAsJsonAsync($"/api/v1/offers/{n.OfferId}/publishers/{n.PublisherId}",
            new { payout_overrides = new[] { new { goal = "sale", payout_type = "percent", payout = 10m } } });
        var second = await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(n)}&txid=p-2&amount=0.05&token={token}");
        var overridden = await app.WaitForConversionAsync(second.Body["conversion_id"]!.GetValue<string>());
        Assert.Equal((0.01m, 0.01m), (overridden.Payout, overridden.Revenue)); // 0.005 and 0.00625 round half away from zero
    }

    [Fact]
    public async Task Fifty_concurrent_identical_postbacks_make_exactly_one_conversion()
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => app.PostbackAsync($"click_id={click}&txid=race-1&token={token}")));

        Assert.All(results, r => Assert.Equal(200, r.Status));
        Assert.Equal(1, results.Count(r => r.Body["result"]!.GetValue<string>() == "created"));
        Assert.Equal(49, results.Count(r => r.Body["result"]!.GetValue<string>() == "duplicate"));
        Assert.Single(results.Select(r => r.Body["conversion_id"]!.GetValue<string>()).Distinct());
        await app.WaitForConversionAsync(results[0].Body["conversion_id"]!.GetValue<string>());
        await app.FlushAsync();
        Assert.Equal(1, await ConversionApp.CountAsync("SELECT count(*) FROM conversions WHERE click_id = @click", new { click }));
    }

    [Fact]
    public async Task Every_postback_of_a_concurrent_burst_has_exactly_one_postback_log_row()
    {
        // The log's writer sends whatever has queued as one stream entry; no postback may be lost or doubled in it.
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);

        var results = await Task.WhenAll(Enumerable.Range(0, 80).Select(i => app.PostbackAsync($"click_id={click}&txid=burst-{i % 40}&token={token}")));
        Assert.All(results, r => Assert.Equal(200, r.Status));
        await app.Service<PostbackLog>().FlushOnceAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(80, await TrackerApp.WaitForRowCountAsync("SELECT count(*) FROM postback_log_entries WHERE click_id = @click", new { click }, 80));
        Assert.Equal(40, await ConversionApp.CountAsync("SELECT count(DISTINCT txid) FROM postback_log_entries WHERE click_id = @click", new { click }));
        foreach (var decision in new[] { "created", "duplicate" })
            Assert.Equal(results.Count(r => r.Body["result"]!.GetValue<string>() == decision),
                await ConversionApp.CountAsync("SELECT count(*) FROM postback_log_entries WHERE click_id = @click AND decision = @decision", new { click, decision }));
    }

    [Fact]
    public async Task A_burst_of_new_conversions_reaches_postgresql_each_once_and_an_unreadable_event_waits_in_the_dead_letter_stream()
    {
        var n = await app.CreateNetworkAsync(offerExtra: PercentGoal); // a goal a click may convert many times
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        var keys = app.Service<AffiliateTracker.Storage.RedisKeys>();
        var stream = keys.ConversionStream(keys.ConversionShard(n.OfferId));
        // Among them an event no server could have written whole (a batch cut off): it must neither stop the flush nor vanish.
        var bad = await app.Redis.StreamAddAsync(stream, [new("t", "cb"), new("d", new byte[] { 200, 0, 0, 0, 1 })]);

        var results = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => app.PostbackAsync($"click_id={click}&txid=many-{i}&amount=10&token={token}")));

        Assert.All(results, r => Assert.Equal("created", r.Body["result"]!.GetValue<string>()));
        foreach (var r in results) await app.WaitForConversionAsync(r.Body["conversion_id"]!.GetValue<string>());
        Assert.Equal(60, await ConversionApp.CountAsync("SELECT count(DISTINCT txid) FROM conversions WHERE click_id = @click", new { click }));
        Assert.Equal(60, await ConversionApp.CountAsync(
            "SELECT count(*) FROM conversion_status_history_entries h JOIN conversions c ON c.id = h.conversion_id WHERE c.click_id = @click", new { click }));
        StackExchange.Redis.StreamEntry[] dead = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline && !dead.Any(e => e["entry"] == bad); await Task.Delay(50))
            dead = await app.Redis.StreamRangeAsync(stream + ":dead");
        Assert.StartsWith("unreadable conversion event", (string?)dead.Single(e => e["entry"] == bad)["reason"]);
    }

    [Fact]
    public async Task A_later_rejected_postback_rejects_the_conversion_and_the_history_says_who_and_why()
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        var id = (await app.PostbackAsync($"click_id={click}&txid=r-1&token={token}")).Body["conversion_id"]!.GetValue<string>();

        var (status, body) = await app.PostbackAsync($"click_id={click}&txid=r-1&status=rejected&reason=order%20cancelled&token={token}");
        Assert.Equal(200, status);
        Assert.Equal("updated", body["result"]!.GetValue<string>());
        await app.WaitForConversionAsync(id, "rejected");

        var again = await app.PostbackAsync($"click_id={click}&txid=r-1&status=approved&token={token}");
        Assert.Equal((409, "status_locked"), (again.Status, again.Body["error"]!.GetValue<string>()));

        var view = (await (await app.AdminAsync()).GetFromJsonAsync<JsonObject>($"/api/v1/conversions/{id}"))!;
        var history = view["history"]!.AsArray();
        Assert.True(history.Count == 2, history.ToJsonString());
        Assert.True(history[1]!["reason"] is not null && history[1]!["from_status"] is not null, history.ToJsonString());
        Assert.Equal(("pending", "rejected", $"advertiser:{n.AdvertiserId}", "order cancelled"),
            (history[1]!["from_status"]!.GetValue<string>(), history[1]!["to_status"]!.GetValue<string>(),
             history[1]!["actor"]!.GetValue<string>(), history[1]!["reason"]!.GetValue<string>()));
        // The creation, kept on the conversion itself: in what status, by whom, why.
        Assert.Equal(((string?)null, "pending", $"advertiser:{n.AdvertiserId}", "created"),
            (history[0]!["from_status"]?.GetValue<string>(), history[0]!["to_status"]!.GetValue<string>(),
             history[0]!["actor"]!.GetValue<string>(), history[0]!["reason"]!.GetValue<string>()));

        // The same view leads to the click and to every postback about the conversion.
        await TrackerApp.WaitForClickRowAsync(click);
        // The log's last entry may be in another test server's flush pass (they share the stream): wait for its commit.
        JsonObject trail = [];
        // A deadline, not a number of tries: on a loaded two-core machine one pass may take seconds.
        for (var deadline = DateTime.UtcNow.AddSeconds(45); DateTime.UtcNow < deadline;)
        {
            await app.Service<PostbackLog>().FlushOnceAsync(TimeSpan.FromMinutes(5));
            trail = (await (await app.AdminAsync()).GetFromJsonAsync<JsonObject>($"/api/v1/conversions/{id}"))!;
            if (trail["postbacks"]!.AsArray().Count >= 3) break;
            await Task.Delay(100);
        }
        Assert.Equal(click, trail["click"]!["click_id"]!.GetValue<string>());
        Assert.Equal(["created", "updated", "status_locked"], trail["postbacks"]!.AsArray().Select(p => p!["decision"]!.GetValue<string>()));
    }

    [Fact]
    public async Task When_the_hold_ends_the_conversion_is_approved_but_a_manual_approval_offer_waits()
    {
        var auto = await app.CreateNetworkAsync(offerExtra: new { hold_period_hours = 24 });
        var manual = await app.CreateNetworkAsync(offerExtra: new { hold_period_hours = 24, manual_approval = true });
        var autoId = (await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(auto)}&txid=h-1&token={await app.PostbackTokenAsync(auto.AdvertiserId)}")).Body["conversion_id"]!.GetValue<string>();
        var manualId = (await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(manual)}&txid=h-1&token={await app.PostbackTokenAsync(manual.AdvertiserId)}")).Body["conversion_id"]!.GetValue<string>();
        await app.WaitForConversionAsync(autoId);
        await app.WaitForConversionAsync(manualId);

        await app.Service<HoldWorker>().ApproveDueAsync();
        Assert.Equal("pending", (await app.WaitForConversionAsync(autoId)).Status);

        app.Clock.Advance(TimeSpan.FromHours(25));
        await app.Service<HoldWorker>().ApproveDueAsync();

        Assert.Equal("approved", (await app.WaitForConversionAsync(autoId)).Status);
        Assert.Equal("pending", (await app.WaitForConversionAsync(manualId)).Status);
        await using var conn = await TrackerApp.DbAsync();
        Assert.Equal("system:hold", await conn.ExecuteScalarAsync<string>(
            "SELECT actor FROM conversion_status_history WHERE conversion_id = @autoId AND to_status = 'approved'", new { autoId }));
    }

    [Fact]
    public async Task A_postback_after_the_attribution_window_is_refused_as_click_expired()
    {
        var n = await app.CreateNetworkAsync(offerExtra: new { attribution_window_hours = 2 });
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        app.Clock.Advance(TimeSpan.FromHours(3));

        var (status, body) = await app.PostbackAsync($"click_id={click}&txid=late-1&token={token}");

        Assert.Equal((410, "click_expired"), (status, body["error"]!.GetValue<string>()));
        await app.FlushAsync();
        Assert.Equal(0, await ConversionApp.CountAsync("SELECT count(*) FROM conversions WHERE click_id = @click", new { click }));
    }

    [Fact]
    public async Task A_wrong_or_missing_token_is_refused_and_writes_nothing_but_the_log()
    {
        var n = await app.CreateNetworkAsync();
        var other = await app.CreateNetworkAsync();
        var otherToken = await app.PostbackTokenAsync(other.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);

        var wrong = await app.PostbackAsync($"click_id={click}&txid=t-1&token=not-the-token");
        var foreign = await app.PostbackAsync($"click_id={click}&txid=t-1&token={otherToken}");
        var missing = await app.PostbackAsync($"click_id={click}&txid=t-1");

        Assert.Equal((403, "bad_token"), (wrong.Status, wrong.Body["error"]!.GetValue<string>()));
        Assert.Equal((403, "bad_token"), (foreign.Status, foreign.Body["error"]!.GetValue<string>()));
        Assert.Equal((401, "missing_token"), (missing.Status, missing.Body["error"]!.GetValue<string>()));
        await app.FlushAsync();
        Assert.Equal(0, await ConversionApp.CountAsync("SELECT count(*) FROM conversions WHERE click_id = @click", new { click }));

        await app.Service<PostbackLog>().FlushOnceAsync(TimeSpan.FromMinutes(5));
        // The background flusher may hold the entries the call above found none of: wait for their rows.
        await TrackerApp.WaitForRowCountAsync("SELECT count(*) FROM postback_log WHERE click_id = @click AND decision = 'bad_token'", new { click }, 2);
        var log = (await app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: n.AdvertiserId))
            .GetFromJsonAsync<JsonArray>($"/api/v1/postback-log?click_id={click}"))!;
        Assert.Equal(["bad_token", "bad_token"], log.Select(e => e!["decision"]!.GetValue<string>()));
        Assert.DoesNotContain("not-the-token", log.ToJsonString());
    }

    [Fact]
    public async Task A_postback_that_created_a_conversion_is_one_log_entry_with_its_address_and_parameters_but_not_its_token()
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        var created = await app.PostbackAsync($"click_id={click}&txid=logged-1&amount=12.50&token={token}");
        var id = created.Body["conversion_id"]!.GetValue<string>();

        var entry = (await app.PostbackLogAsync($"click_id={click}")).Single()!;
        Assert.Equal(("created", 200, id, id, "Conversion recorded."),
            (entry["decision"]!.GetValue<string>(), entry["http_status"]!.GetValue<int>(), entry["conversion_id"]!.GetValue<string>(),
             entry["id"]!.GetValue<string>(), entry["message"]!.GetValue<string>()));
        Assert.Equal(("logged-1", n.OfferId, n.AdvertiserId), (entry["txid"]!.GetValue<string>(), entry["offer_id"]!.GetValue<long>(), entry["advertiser_id"]!.GetValue<long>()));
        Assert.Equal($"click_id={click}&txid=logged-1&amount=12.50", entry["query"]!.GetValue<string>());
        Assert.DoesNotContain(token, entry.ToJsonString());
    }

    [Fact]
    public async Task A_postback_quoting_a_nul_in_its_goal_is_still_in_the_postback_log()
    {
        // Found by the abuse suite: the refusal's message quoted the goal, jsonb refused the NUL, the entry was dead-lettered.
        var n = await app.CreateNetworkAsync();
        var click = await app.ClickAndWaitAsync(n);
        var refused = await app.PostbackAsync($"click_id={click}&txid=nul-1&goal=a%00b&token={await app.PostbackTokenAsync(n.AdvertiserId)}");
        Assert.Equal((422, "unknown_goal"), (refused.Status, refused.Body["error"]!.GetValue<string>()));

        await app.Service<PostbackLog>().FlushOnceAsync(TimeSpan.FromMinutes(5));
        var admin = await app.AdminAsync();
        JsonArray log = [];
        for (var i = 0; i < 100 && log.Count == 0; i++)
        {
            log = (await admin.GetFromJsonAsync<JsonArray>($"/api/v1/postback-log?click_id={click}"))!;
            if (log.Count == 0) await Task.Delay(50);
        }
        Assert.Equal(["unknown_goal"], log.Select(e => e!["decision"]!.GetValue<string>()));
        Assert.Equal("The offer has no goal 'ab'.", log[0]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_pixel_attributes_through_the_click_cookie_and_always_answers_a_gif()
    {
        var n = await app.CreateNetworkAsync();
        var click = await app.ClickAndWaitAsync(n);

        var withCookie = new HttpRequestMessage(HttpMethod.Get, $"/pixel?offer_id={n.OfferId}&txid=px-1");
        withCookie.Headers.Add("Cookie", $"atc_{n.OfferId}={click}");
        var hit = await app.Browser().SendAsync(withCookie);
        var miss = await app.Browser().GetAsync($"/pixel?offer_id={n.OfferId}&txid=px-2");

        foreach (var r in new[] { hit, miss })
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("image/gif", r.Content.Headers.ContentType!.MediaType);
            Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString((await r.Content.ReadAsByteArrayAsync())[..6]));
        }
        await using var conn = await TrackerApp.DbAsync();
        for (var i = 0; i < 100 && await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM conversions WHERE click_id = @click", new { click }) == 0; i++)
            await Task.Delay(50);
        var row = await conn.QuerySingleAsync<ConversionRow>("SELECT * FROM conversions WHERE click_id = @click", new { click });
        Assert.Equal(("pixel", "px-1", $"c:{click}", n.PublisherId), (row.Via, row.Txid, row.DedupeKey, row.PublisherId));
        Assert.Equal(0, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM conversions WHERE txid = 'px-2' AND offer_id = @OfferId", n));
    }

    [Fact]
    public async Task An_advertiser_limited_to_listed_addresses_is_refused_from_elsewhere()
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var admin = await app.AdminAsync();
        await admin.PatchAsJsonAsync($"/api/v1/advertisers/{n.AdvertiserId}", new { postback_ips = new[] { "203.0.113.7" } });
        var click = await app.ClickAndWaitAsync(n);

        var (status, body) = await app.PostbackAsync($"click_id={click}&txid=ip-1&token={token}");

        Assert.Equal((403, "ip_not_allowed"), (status, body["error"]!.GetValue<string>()));
        await admin.PatchAsJsonAsync($"/api/v1/advertisers/{n.AdvertiserId}", new { postback_ips = Array.Empty<string>() });
        Assert.Equal(200, (await app.PostbackAsync($"click_id={click}&txid=ip-1&token={token}")).Status);
    }

    [Fact]
    public async Task A_publishers_own_caps_send_only_that_publishers_traffic_to_the_fallback()
    {
        var n = await app.CreateNetworkAsync(fallbackUrl: "https://fallback.example/pub-cap");
        var admin = await app.AdminAsync();
        await admin.PutAsJsonAsync($"/api/v1/offers/{n.OfferId}/publishers/{n.PublisherId}", new { daily_click_cap = 1 });
        var other = await app.CreatePublisherAsync();
        await app.GrantAsync(n.OfferId, other);
        var otherLink = await app.CreateLinkAsync(n.OfferId, other);

        var first = await app.ClickAsync($"/c/{n.LinkCode}", "Mozilla/5.0 pub-cap-1");
        var second = await app.ClickAsync($"/c/{n.LinkCode}", "Mozilla/5.0 pub-cap-2");
        var otherPublisher = await app.ClickAsync($"/c/{otherLink}", "Mozilla/5.0 pub-cap-3");

        Assert.StartsWith("https://shop.example/", first.Headers.Location!.OriginalString);
        Assert.Equal("https://fallback.example/pub-cap", second.Headers.Location!.OriginalString);
        Assert.StartsWith("https://shop.example/", otherPublisher.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task The_pixel_cannot_change_a_conversions_status()
    {
        var n = await app.CreateNetworkAsync();
        var click = await app.ClickAndWaitAsync(n);
        var id = (await app.PostbackAsync($"click_id={click}&txid=px-s&token={await app.PostbackTokenAsync(n.AdvertiserId)}"))
            .Body["conversion_id"]!.GetValue<string>();

        var pixel = new HttpRequestMessage(HttpMethod.Get, $"/pixel?offer_id={n.OfferId}&txid=px-s&status=rejected");
        pixel.Headers.Add("Cookie", $"atc_{n.OfferId}={click}");
        await app.Browser().SendAsync(pixel);
        await app.FlushAsync();

        Assert.Equal("pending", (await app.WaitForConversionAsync(id)).Status);
    }

    [Fact]
    public async Task Once_per_click_goals_dedupe_on_the_click_and_other_goals_need_a_txid()
    {
        var n = await app.CreateNetworkAsync(offerExtra: new
        {
            goals = new object[]
            {
                new { code = "lead", payout_type = "fixed", payout = 2m, revenue_type = "fixed", revenue = 3m, once_per_click = true },
                new { code = "sale", payout_type = "fixed", payout = 5m, revenue_type = "fixed", revenue = 8m, once_per_click = false },
            },
        });
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);

        var first = await app.PostbackAsync($"click_id={click}&goal=lead&token={token}");
        var second = await app.PostbackAsync($"cid={click}&goal=lead&txid=another-order&token={token}");
        var sale = await app.PostbackAsync($"click_id={click}&goal=sale&token={token}");
        var unknown = await app.PostbackAsync($"click_id={click}&goal=install&token={token}");

        Assert.Equal(("created", "duplicate"), (first.Body["result"]!.GetValue<string>(), second.Body["result"]!.GetValue<string>()));
        Assert.Equal((400, "txid_required"), (sale.Status, sale.Body["error"]!.GetValue<string>()));
        Assert.Equal((422, "unknown_goal"), (unknown.Status, unknown.Body["error"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Conversions_are_flagged_for_review_and_an_advertiser_postback_cannot_approve_a_flagged_one()
    {
        var n = await app.CreateNetworkAsync(offerExtra: new { daily_conversion_cap = 1 });
        var token = await app.PostbackTokenAsync(n.AdvertiserId);

        // Both clicks first: once the conversion cap is reached, new clicks go to the fallback.
        var bot = await app.ClickAndWaitAsync(n, "", "Googlebot/2.1");
        var instant = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}", "Mozilla/5.0 Firefox/130.0 instant"));
        var tooFast = await app.PostbackAsync($"click_id={instant}&txid=f-1&token={token}");
        var fromBot = await app.PostbackAsync($"click_id={bot}&txid=f-2&token={token}");

        Assert.Equal("created", tooFast.Body["result"]!.GetValue<string>());
        var flaggedFast = await app.WaitForConversionAsync(tooFast.Body["conversion_id"]!.GetValue<string>());
        var flaggedBot = await app.WaitForConversionAsync(fromBot.Body["conversion_id"]!.GetValue<string>());
        Assert.Contains("too_fast", flaggedFast.Flags);
        Assert.Contains("bot_click", flaggedBot.Flags);
        Assert.Contains("over_cap", flaggedBot.Flags); // the second conversion of the day on a cap of one

        var again = await app.PostbackAsync($"click_id={instant}&txid=f-1&token={token}");
        Assert.Equal(("duplicate", "pending"), (again.Body["result"]!.GetValue<string>(), again.Body["status"]!.GetValue<string>()));
        var approve = await app.PostbackAsync($"click_id={instant}&txid=f-1&status=approved&token={token}");
        Assert.Equal((409, "held_for_review"), (approve.Status, approve.Body["error"]!.GetValue<string>()));
        app.Clock.Advance(TimeSpan.FromDays(31));
        await app.Service<HoldWorker>().ApproveDueAsync();
        Assert.Equal("pending", (await app.WaitForConversionAsync(flaggedFast.Id)).Status);

        var admin = await app.AdminAsync();
        var decided = await admin.PostAsJsonAsync($"/api/v1/conversions/{flaggedFast.Id}/status", new { status = "approved", reason = "reviewed: real order" });
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        Assert.Equal("approved", (await app.WaitForConversionAsync(flaggedFast.Id)).Status);
    }

    [Theory]
    [InlineData("amount=abc", "invalid_amount")]
    [InlineData("amount=-1", "invalid_amount")]
    [InlineData("amount=1e400", "invalid_amount")]
    [InlineData("amount=NaN", "invalid_amount")]
    [InlineData("amount=1.23456", "invalid_amount")]
    [InlineData("status=paid", "invalid_status")]
    [InlineData("currency=dollars", "invalid_currency")]
    [InlineData("txid=%01ctl", "invalid_txid")]
    public async Task Malformed_postbacks_get_a_400_and_write_nothing(string bad, string error)
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        var txid = bad.StartsWith("txid=") ? "" : "txid=bad-1&";
        var (status, body) = await app.PostbackAsync($"click_id={click}&{txid}token={token}&{bad}");
        Assert.Equal((400, error), (status, body["error"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(body["message"]!.GetValue<string>()));
        await app.FlushAsync();
        Assert.Equal(0, await ConversionApp.CountAsync("SELECT count(*) FROM conversions WHERE click_id = @click", new { click }));
    }

    [Theory]
    [InlineData("click_id=not-a-click&token=x", 400, "invalid_click_id")]
    [InlineData("click_id=01M7Z5J01FC2K56S1833VFEX3M&token=x", 404, "unknown_click")]
    [InlineData("token=x", 400, "missing_click_id")]
    public async Task Unknown_or_malformed_click_ids_get_a_clear_4xx(string query, int status, string error)
    {
        var r = await app.PostbackAsync(query);
        Assert.Equal((status, error), (r.Status, r.Body["error"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_postback_in_another_currency_needs_a_configured_rate()
    {
        // Rates are network-wide, so this test invents a currency pair no other run uses.
        string Code(char first) => first + string.Concat(Enumerable.Range(0, 2).Select(_ => (char)('A' + Random.Shared.Next(26))));
        var (offerCurrency, reported) = (Code('X'), Code('Y'));
        var n = await app.CreateNetworkAsync(offerExtra: new { currency = offerCurrency, goals = PercentGoals });
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        var refused = await app.PostbackAsync($"click_id={click}&txid=fx-1&amount=100&currency={reported}&token={token}");
        Assert.Equal((422, "currency_mismatch"), (refused.Status, refused.Body["error"]!.GetValue<string>()));

        var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/v1/currency-rates/{reported}/{offerCurrency}", new { rate = 1.25m })).StatusCode);
        var accepted = await app.PostbackAsync($"click_id={click}&txid=fx-1&amount=100&currency={reported}&token={token}");
        var row = await app.WaitForConversionAsync(accepted.Body["conversion_id"]!.GetValue<string>());
        Assert.Equal((125.00m, offerCurrency, 100m, reported, 9.38m), (row.Amount, row.Currency, row.OriginalAmount, row.OriginalCurrency, row.Payout));
    }

    [Fact]
    public async Task A_redelivered_conversion_batch_writes_no_second_row_or_history()
    {
        var n = await app.CreateNetworkAsync();
        var now = DateTimeOffset.UtcNow;
        ConversionCreated Conversion(string txid) => new(Guid.NewGuid(), AffiliateTracker.Storage.Ulid.New(now), AffiliateTracker.Storage.Ulid.New(now),
            now, n.OfferId, n.AdvertiserId, n.PublisherId, "sale", txid, "t:" + txid, ConversionStatus.Pending, 10m, "USD", null, null, 1m, 2m,
            null, null, null, null, null, null, "203.0.113.7", null, [], "postback", now, now.AddDays(7), now, "advertiser:test", null, false);
        var first = Conversion("redeliver-1");
        var store = app.Service<ConversionStore>();
        await store.ApplyAsync([first], [], now);

        // The same event again (a crash between commit and acknowledgement), beside a new one: the fast COPY
        // path meets the unique key, and the staging path writes only the new conversion.
        var second = Conversion("redeliver-2");
        await store.ApplyAsync([first, second], [], now);

        await using var conn = await TrackerApp.DbAsync();
        var rows = (await conn.QueryAsync<(string Txid, int History)>("""
            SELECT c.txid, (SELECT count(*)::int FROM conversion_status_history_entries h WHERE h.conversion_id = c.id)
            FROM conversions c WHERE c.offer_id = @OfferId ORDER BY c.txid
            """, new { n.OfferId })).ToList();
        Assert.Equal([("redeliver-1", 1), ("redeliver-2", 1)], rows);
    }

    [Fact]
    public async Task A_conversion_recorded_again_under_a_new_id_keeps_its_postback_in_the_log_pointing_at_the_conversion_kept()
    {
        // Redis lost the conversion's record, and the advertiser's retry made it again under a new id: PostgreSQL keeps
        // the first, and the retry's postback is still in the log, once, however often its event is delivered.
        var n = await app.CreateNetworkAsync();
        var now = DateTimeOffset.UtcNow;
        var txid = $"again-{Guid.NewGuid():N}";
        var first = new ConversionCreated(Guid.NewGuid(), AffiliateTracker.Storage.Ulid.New(now), AffiliateTracker.Storage.Ulid.New(now),
            now, n.OfferId, n.AdvertiserId, n.PublisherId, "sale", txid, "t:" + txid, ConversionStatus.Pending, 10m, "USD", null, null, 1m, 2m,
            null, null, null, null, null, null, "203.0.113.7", null, [], "postback", now, now.AddDays(7), now, $"advertiser:{n.AdvertiserId}", null, false,
            "198.51.100.4", $"txid={txid}");
        var again = first with { EventId = Guid.NewGuid(), Id = AffiliateTracker.Storage.Ulid.New(now.AddSeconds(5)), CreatedAt = now.AddSeconds(5),
            PostbackIp = "198.51.100.5", PostbackQuery = $"txid={txid}&retry=1" };
        var store = app.Service<ConversionStore>();
        await store.ApplyAsync([first], [], now);
        await store.ApplyAsync([again], [], now);
        await store.ApplyAsync([again], [], now);

        var log = await app.PostbackLogAsync($"txid={txid}");
        var entries = log.Select(e => (Ip: e!["remote_ip"]!.GetValue<string>(), Decision: e["decision"]!.GetValue<string>(),
            ConversionId: e["conversion_id"]!.GetValue<string>(), Message: e["message"]!.GetValue<string>())).OrderBy(e => e.Ip).ToList();
        Assert.Equal([("198.51.100.4", "created", first.Id), ("198.51.100.5", "created", first.Id)], entries.Select(e => (e.Ip, e.Decision, e.ConversionId)));
        Assert.Equal($"Conversion recorded as {again.Id}, which the tracker already held as {first.Id}.", entries[1].Message);
    }

    [Fact]
    public async Task A_postback_log_entry_delivered_twice_is_one_row()
    {
        var entry = new PostbackLogEntry(Guid.NewGuid(), DateTimeOffset.UtcNow, "postback", null, null, null, "log-twice", null,
            "unknown_click", 404, "No click with this id is known.", null, "203.0.113.8", "click_id=x&txid=log-twice");
        var log = app.Service<PostbackLog>();
        log.Write(entry);
        log.Write(entry);

        await using var conn = await TrackerApp.DbAsync();
        for (var i = 0; i < 100 && await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM postback_log WHERE event_id = @EventId", entry) == 0; i++)
        {
            await log.FlushOnceAsync(TimeSpan.FromMinutes(5));
            await Task.Delay(50);
        }
        await log.FlushOnceAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(1, await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM postback_log WHERE event_id = @EventId", entry));
    }

    [Fact]
    public async Task A_click_no_longer_in_redis_is_attributed_from_postgresql()
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        await TrackerApp.WaitForClickRowAsync(click);
        var keys = app.Service<AffiliateTracker.Storage.RedisKeys>();
        AffiliateTracker.Storage.Ulid.TryGetTimestamp(click, out var clickedAt);
        Assert.True(await app.Redis.HashDeleteAsync(keys.ClickRecords(keys.ClickShard(click), clickedAt), click));

        var (status, body) = await app.PostbackAsync($"click_id={click}&txid=cold-1&token={token}");

        Assert.Equal((200, "created"), (status, body["result"]!.GetValue<string>()));
        Assert.Equal(n.PublisherId, (await app.WaitForConversionAsync(body["conversion_id"]!.GetValue<string>())).PublisherId);
    }

    [Fact]
    public async Task The_database_refuses_a_conversion_whose_advertiser_is_not_its_offers()
    {
        // Whatever writes it, a conversion is billed to its offer's advertiser: the database holds to that.
        var n = await app.CreateNetworkAsync();
        var other = await app.CreateNetworkAsync();
        await using var conn = await TrackerApp.DbAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await conn.ExecuteAsync(InsertConversionSql, new { id = $"right-{Guid.NewGuid():N}", n.OfferId, n.AdvertiserId, n.PublisherId }, tx);
        var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            conn.ExecuteAsync(InsertConversionSql, new { id = $"wrong-{Guid.NewGuid():N}", n.OfferId, other.AdvertiserId, n.PublisherId }, tx));

        Assert.Equal(Npgsql.PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);
        await tx.RollbackAsync();
    }

    private const string InsertConversionSql = """
        INSERT INTO conversions (id, click_id, click_created_at, offer_id, advertiser_id, publisher_id, goal, dedupe_key, status,
                                 currency, payout, revenue, via, created_at, hold_until, status_changed_at)
        VALUES (@id, @id, now(), @offerId, @advertiserId, @publisherId, 'sale', 't:' || @id, 'pending', 'USD', 1, 2, 'postback', now(), now(), now())
        """;

    [Fact]
    public async Task The_database_refuses_a_conversion_whose_publisher_does_not_exist()
    {
        var n = await app.CreateNetworkAsync();
        await using var conn = await TrackerApp.DbAsync();
        var id = $"nobody-{Guid.NewGuid():N}";

        var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            conn.ExecuteAsync(InsertConversionSql, new { id, n.OfferId, n.AdvertiserId, publisherId = -n.PublisherId }));

        Assert.Equal(Npgsql.PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);
        Assert.Equal(0, await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM conversions WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task An_approved_first_postback_is_the_first_history_entry_with_the_advertisers_reason()
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        var (_, body) = await app.PostbackAsync($"click_id={click}&txid=final-1&status=approved&reason=order%20shipped&token={token}");
        var id = (await app.WaitForConversionAsync(body["conversion_id"]!.GetValue<string>(), "approved")).Id;

        var history = (await (await app.AdminAsync()).GetFromJsonAsync<JsonObject>($"/api/v1/conversions/{id}"))!["history"]!.AsArray();
        var only = Assert.Single(history);
        Assert.Equal(((string?)null, "approved", $"advertiser:{n.AdvertiserId}", "order shipped"),
            (only!["from_status"]?.GetValue<string>(), only["to_status"]!.GetValue<string>(), only["actor"]!.GetValue<string>(),
             only["reason"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_conversion_a_server_from_before_migration_0014_wrote_keeps_one_creation_entry_and_the_ledger_holds()
    {
        // During a rolling upgrade an older server's flusher writes the conversion without created_status and its creation
        // as a history row; a later change is a history row either way.
        var n = await app.CreateNetworkAsync();
        var id = $"older-{Guid.NewGuid():N}";
        await using var conn = await TrackerApp.DbAsync();
        await conn.ExecuteAsync(InsertConversionSql, new { id, n.OfferId, n.AdvertiserId, n.PublisherId });
        await conn.ExecuteAsync($"""
            INSERT INTO conversion_status_history (event_id, conversion_id, from_status, to_status, actor, reason, changed_at)
            VALUES (gen_random_uuid(), @id, NULL, 'pending', 'advertiser:{n.AdvertiserId}', 'created', now());
            UPDATE conversions SET status = 'rejected' WHERE id = @id;
            INSERT INTO conversion_status_history (event_id, conversion_id, from_status, to_status, actor, reason, changed_at)
            VALUES (gen_random_uuid(), @id, 'pending', 'rejected', 'admin', 'test', now() + interval '1 second');
            """, new { id });

        var history = (await (await app.AdminAsync()).GetFromJsonAsync<JsonObject>($"/api/v1/conversions/{id}"))!["history"]!.AsArray();
        Assert.Equal([(null, "pending"), ("pending", "rejected")],
            history.Select(h => (h!["from_status"]?.GetValue<string>(), h["to_status"]!.GetValue<string>())).ToList());
        Assert.DoesNotContain(await LedgerCheck.RunAsync(conn), v => v.Detail.Contains(id));
    }

    [Fact]
    public async Task The_database_refuses_status_history_for_a_conversion_it_does_not_hold()
    {
        await using var conn = await TrackerApp.DbAsync();
        var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => conn.ExecuteAsync("""
            INSERT INTO conversion_status_history (event_id, conversion_id, from_status, to_status, actor, changed_at)
            VALUES (gen_random_uuid(), @id, NULL, 'pending', 'test', now())
            """, new { id = $"missing-{Guid.NewGuid():N}" }));

        Assert.Equal(Npgsql.PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);
    }

    [Fact]
    public async Task A_conversion_is_never_deleted_or_moved_and_its_offer_keeps_its_advertiser()
    {
        // The references a conversion's money hangs on, held by the database whatever writes to it.
        var n = await app.CreateNetworkAsync();
        var other = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        var (_, body) = await app.PostbackAsync($"click_id={click}&txid=kept-1&token={token}");
        var id = (await app.WaitForConversionAsync(body["conversion_id"]!.GetValue<string>())).Id;
        await using var conn = await TrackerApp.DbAsync();

        foreach (var (sql, message) in new[]
        {
            ("DELETE FROM conversions WHERE id = @id", "never deleted"),
            ("UPDATE conversions SET publisher_id = @otherPublisher WHERE id = @id", "never change"),
            ("UPDATE offers SET advertiser_id = @otherAdvertiser WHERE id = @offer", "has conversions"),
        })
        {
            var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
                conn.ExecuteAsync(sql, new { id, otherPublisher = other.PublisherId, otherAdvertiser = other.AdvertiserId, offer = n.OfferId }));
            Assert.Equal(Npgsql.PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);
            Assert.Contains(message, refused.MessageText);
        }
        var row = await conn.QuerySingleAsync<(long Offer, long Publisher)>(
            "SELECT c.offer_id, c.publisher_id FROM conversions c JOIN offers o ON o.id = c.offer_id AND o.advertiser_id = @a WHERE c.id = @id",
            new { id, a = n.AdvertiserId });
        Assert.Equal((n.OfferId, n.PublisherId), row);
    }

    [Fact]
    public async Task A_postback_posted_as_a_form_works_like_a_get()
    {
        var n = await app.CreateNetworkAsync();
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var click = await app.ClickAndWaitAsync(n);
        var r = await app.Browser().PostAsync("/postback", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["transaction_id"] = click, ["txid"] = "form-1", ["token"] = token }));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("created", (await r.Content.ReadFromJsonAsync<JsonObject>())!["result"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"click_id": "\ud800", "txid": "x"}""")]
    [InlineData("""{"click_id": "01M7Z5J01FC2K56S1833VFEX3M", "txid": "a\udc00b"}""")]
    public async Task A_json_postback_holding_a_lone_surrogate_is_refused_as_malformed(string json)
    {
        // Found by the abuse suite: reading such a string threw past the postback's error handling, a 500.
        var r = await app.Browser().PostAsync("/postback", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("invalid_body", (await r.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Conversions_are_scoped_by_role_and_publishers_never_see_revenue()
    {
        var n = await app.CreateNetworkAsync();
        var other = await app.CreateNetworkAsync();
        var id = (await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(n)}&txid=s-1&token={await app.PostbackTokenAsync(n.AdvertiserId)}"))
            .Body["conversion_id"]!.GetValue<string>();
        await app.WaitForConversionAsync(id);

        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));
        var own = (await publisher.GetFromJsonAsync<JsonArray>("/api/v1/conversions"))!;
        Assert.Equal([id], own.Select(c => c!["id"]!.GetValue<string>()));
        Assert.Null(own[0]!["revenue"]);
        Assert.Equal(5.00m, own[0]!["payout"]!.GetValue<decimal>());

        var stranger = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: other.AdvertiserId));
        Assert.Empty((await stranger.GetFromJsonAsync<JsonArray>("/api/v1/conversions"))!);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/api/v1/conversions/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsJsonAsync($"/api/v1/conversions/{id}/status", new { status = "rejected", reason = "x" })).StatusCode);

        var owner = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: n.AdvertiserId));
        var rejected = await owner.PostAsJsonAsync($"/api/v1/conversions/{id}/status", new { status = "rejected", reason = "chargeback" });
        Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
        Assert.Equal("rejected", (await app.WaitForConversionAsync(id)).Status);
    }
}

public sealed class SignedPostbackTests(ConversionApp app) : IClassFixture<ConversionApp>
{
    private static string Sign(string key, string message) =>
        "sha256=" + Convert.ToHexString(System.Security.Cryptography.HMACSHA256.HashData(
            System.Text.Encoding.ASCII.GetBytes(key), System.Text.Encoding.UTF8.GetBytes(message))).ToLowerInvariant();


    private async Task<(int Status, JsonObject Body)> SignedGet(string query, string signature)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/postback?" + query);
        request.Headers.Add("X-Signature", signature);
        var r = await app.Browser().SendAsync(request);
        return ((int)r.StatusCode, (await r.Content.ReadFromJsonAsync<JsonObject>())!);
    }

    [Fact]
    public async Task A_postback_signed_with_the_advertisers_key_is_accepted_instead_of_a_token()
    {
        var n = await app.CreateNetworkAsync();
        var key = await app.SigningKeyAsync(n.AdvertiserId);
        var query = $"click_id={await app.ClickAndWaitAsync(n)}&txid=signed-1";

        var (status, body) = await SignedGet(query, Sign(key, query));

        Assert.Equal((200, "created"), (status, body["result"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_wrong_tampered_or_revoked_signature_is_refused()
    {
        var n = await app.CreateNetworkAsync();
        var old = await app.SigningKeyAsync(n.AdvertiserId);
        var current = await app.SigningKeyAsync(n.AdvertiserId);
        var query = $"click_id={await app.ClickAndWaitAsync(n)}&txid=signed-2";

        var revoked = await SignedGet(query, Sign(old, query));
        var tampered = await SignedGet(query + "&amount=999", Sign(current, query));
        var garbage = await SignedGet(query, "sha256=zz");

        foreach (var r in new[] { revoked, tampered, garbage })
            Assert.Equal((403, "bad_signature"), (r.Status, r.Body["error"]!.GetValue<string>()));
        await app.FlushAsync();
        Assert.Equal(0, await ConversionApp.CountAsync("SELECT count(*) FROM conversions WHERE txid = 'signed-2' AND offer_id = @OfferId", n));
        var accepted = await SignedGet(query, Sign(current, query));
        Assert.Equal((200, "created"), (accepted.Status, accepted.Body["result"]!.GetValue<string>()));
    }
}
