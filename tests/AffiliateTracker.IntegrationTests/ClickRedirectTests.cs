using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AffiliateTracker.Clicks;
using Dapper;

namespace AffiliateTracker.IntegrationTests;

public sealed class ClickRedirectTests(TrackerApp app) : IClassFixture<TrackerApp>
{
    [Fact]
    public async Task Link_redirects_to_the_landing_url_with_macros_expanded_and_url_encoded()
    {
        var n = await app.CreateNetworkAsync("https://shop.example/p?cid={click_id}&o={offer_id}&a={aff_id}&s1={sub1}&s2={sub2}&src={source}&keep={unknown}");
        var sub1 = "café & x=y";
        var sub2 = "日本/?#";

        var response = await app.ClickAsync($"/c/{n.LinkCode}?sub1={Uri.EscapeDataString(sub1)}&sub2={Uri.EscapeDataString(sub2)}&source=fb%20ads");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var clickId = TrackerApp.ClickIdOf(response);
        Assert.Equal(
            $"https://shop.example/p?cid={clickId}&o={n.OfferId}&a={n.PublisherId}&s1=caf%C3%A9%20%26%20x%3Dy&s2=%E6%97%A5%E6%9C%AC%2F%3F%23&src=fb%20ads&keep={{unknown}}",
            response.Headers.Location!.OriginalString);
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());

        var row = await TrackerApp.WaitForClickRowAsync(clickId);
        Assert.Equal((n.OfferId, n.PublisherId, sub1, sub2, "fb ads"), (row.OfferId, row.PublisherId, row.Sub1, row.Sub2, row.Source));
        Assert.Null(row.Sub3);
        Assert.False(row.IsBot);
    }

    [Fact]
    public async Task A_clicks_attribution_record_leaves_redis_one_hot_period_after_its_minute()
    {
        // Redis memory stays bounded: the record is kept for Clicks:HotPeriod (7 days by default) after the
        // end of the minute it was made in, then attribution reads the click from PostgreSQL.
        var n = await app.CreateNetworkAsync();
        var clickId = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}"));
        var keys = app.Service<AffiliateTracker.Storage.RedisKeys>();
        AffiliateTracker.Storage.Ulid.TryGetTimestamp(clickId, out var clickedAt);
        var hash = keys.ClickRecords(keys.ClickShard(clickId), clickedAt);

        Assert.True(await app.Redis.HashExistsAsync(hash, clickId));
        var minuteEnds = new DateTimeOffset(clickedAt.Year, clickedAt.Month, clickedAt.Day, clickedAt.Hour, clickedAt.Minute, 0, TimeSpan.Zero).AddMinutes(1);
        var hotPeriod = app.Service<Microsoft.Extensions.Options.IOptions<AffiliateTracker.Clicks.ClickOptions>>().Value.HotPeriod;
        var expectedTtl = minuteEnds + hotPeriod - DateTimeOffset.UtcNow;
        var ttl = await app.Redis.KeyTimeToLiveAsync(hash);
        Assert.NotNull(ttl);
        Assert.InRange(ttl!.Value, expectedTtl - TimeSpan.FromSeconds(30), expectedTtl + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Click_by_offer_and_publisher_ids_redirects_like_a_link()
    {
        var n = await app.CreateNetworkAsync();
        var response = await app.ClickAsync($"/click?offer_id={n.OfferId}&aff_id={n.PublisherId}&sub1=abc");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var row = await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(response));
        Assert.Equal(("abc", (long?)null), (row.Sub1, row.LinkId));
    }

    [Fact]
    public async Task Click_cookie_is_httponly_lax_and_lives_for_the_attribution_window()
    {
        var n = await app.CreateNetworkAsync(offerExtra: new { attribution_window_hours = 48 });
        var response = await app.ClickAsync($"/c/{n.LinkCode}");
        var cookie = response.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith($"atc_{n.OfferId}=", cookie);
        Assert.Contains("max-age=172800", cookie);
        Assert.Contains("httponly", cookie);
        Assert.Contains("samesite=lax", cookie);
        Assert.Contains("path=/", cookie);
        Assert.DoesNotContain("secure", cookie); // served over plain http

        var overTls = await app.ClickAsync($"/c/{n.LinkCode}", baseAddress: "https://tracker.test");
        Assert.Contains("secure", overTls.Headers.GetValues("Set-Cookie").Single());
    }

    [Fact]
    public async Task Repeat_click_by_the_same_visitor_is_recorded_but_not_unique()
    {
        var n = await app.CreateNetworkAsync();
        var ua = $"Mozilla/5.0 (Windows NT 10.0) Chrome/129.0 visitor-{Guid.NewGuid():N}";
        var first = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}", ua));
        // Flushed before the repeat is made: the other test classes' servers flush the same stream side by side, and
        // between flushers the first click to reach Redis's unique-visitor script is the one that counts.
        Assert.True((await TrackerApp.WaitForClickRowAsync(first)).IsUnique);
        var repeat = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}", ua));
        var other = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}", ua + " other"));

        Assert.False((await TrackerApp.WaitForClickRowAsync(repeat)).IsUnique);
        Assert.True((await TrackerApp.WaitForClickRowAsync(other)).IsUnique);
    }

    [Fact]
    public async Task A_flood_of_clicks_from_one_visitor_counts_one_unique_click()
    {
        // More clicks of one visitor than one unique-visitor script call takes (the flusher splits them): still one unique.
        var n = await app.CreateNetworkAsync();
        var ua = $"Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0 flood-{Guid.NewGuid():N}";
        const int clicks = 400;
        var redirects = await Task.WhenAll(Enumerable.Range(0, clicks).Select(_ => app.ClickAsync($"/c/{n.LinkCode}", ua)));
        Assert.All(redirects, r => Assert.Equal(HttpStatusCode.Found, r.StatusCode));

        Assert.Equal(clicks, await TrackerApp.WaitForRowCountAsync("SELECT count(*) FROM clicks WHERE offer_id = @OfferId", new { n.OfferId }, clicks));
        await using var db = await TrackerApp.DbAsync();
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM clicks WHERE offer_id = @OfferId AND is_unique", new { n.OfferId }));
    }

    [Theory]
    [InlineData("Googlebot/2.1 (+http://www.google.com/bot.html)")]
    [InlineData("curl/8.5.0")]
    [InlineData("facebookexternalhit/1.1")]
    [InlineData("")]
    public async Task Known_bots_are_redirected_and_flagged(string userAgent)
    {
        var n = await app.CreateNetworkAsync();
        var response = await app.ClickAsync($"/c/{n.LinkCode}", userAgent);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.True((await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(response))).IsBot);
    }

    [Fact]
    public async Task Paused_offer_sends_the_visitor_to_its_fallback_url_without_a_click_cookie()
    {
        var n = await app.CreateNetworkAsync(fallbackUrl: "https://fallback.example/more?from={offer_id}");
        var admin = await app.AdminAsync();
        var paused = await admin.PatchAsJsonAsync($"/api/v1/offers/{n.OfferId}", new { status = "paused" });
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);

        var response = await app.ClickAsync($"/c/{n.LinkCode}");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal($"https://fallback.example/more?from={n.OfferId}", response.Headers.Location!.OriginalString);
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Paused_offer_without_fallback_shows_a_clear_page()
    {
        var n = await app.CreateNetworkAsync();
        var admin = await app.AdminAsync();
        await admin.PatchAsJsonAsync($"/api/v1/offers/{n.OfferId}", new { status = "paused" });

        var asJson = await app.ClickAsync($"/c/{n.LinkCode}");
        Assert.Equal(HttpStatusCode.NotFound, asJson.StatusCode);
        Assert.Equal("offer_paused", (await asJson.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());

        var browser = app.Browser();
        browser.DefaultRequestHeaders.Add("Accept", "text/html,application/xhtml+xml");
        var page = await browser.GetAsync($"/c/{n.LinkCode}");
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("not available", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Publisher_without_access_goes_to_the_fallback()
    {
        var n = await app.CreateNetworkAsync(fallbackUrl: "https://fallback.example/");
        var stranger = await app.CreatePublisherAsync();
        var response = await app.ClickAsync($"/click?offer_id={n.OfferId}&aff_id={stranger}");
        Assert.Equal("https://fallback.example/", response.Headers.Location!.OriginalString);
    }

    [Theory]
    [InlineData("/c/no-such-link-anywhere")]
    [InlineData("/c/..%2F..%2Fevil.example")]
    [InlineData("/c/https:%2F%2Fevil.example")]
    [InlineData("/click?offer_id=999999999&aff_id=1")]
    public async Task Unknown_link_answers_404_with_a_json_error(string path)
    {
        var response = await app.ClickAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.NotNull((await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
    }

    [Theory]
    [InlineData("?url=https://evil.example")]
    [InlineData("?sub1=//evil.example&sub2=@evil.example")]
    [InlineData("?sub1=%0d%0aLocation:%20https://evil.example")]
    [InlineData("?redirect=https%3A%2F%2Fevil.example&source=javascript:alert(1)")]
    public async Task No_parameter_can_redirect_the_visitor_anywhere_but_the_offer(string query)
    {
        var n = await app.CreateNetworkAsync("https://shop.example/land?s1={sub1}&s2={sub2}&src={source}");
        var response = await app.ClickAsync($"/c/{n.LinkCode}{query}");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.Equal("shop.example", location.Host);
        Assert.StartsWith("https://shop.example/land?", location.OriginalString);
        Assert.DoesNotContain("\n", location.OriginalString);
    }

    [Theory]
    [InlineData("https:/\\{sub1}")]
    [InlineData("https:\\/{sub1}")]
    [InlineData("http:/\\{sub1}/x")]
    [InlineData("https://shop.example/\r\nSet-Cookie: x=1")]
    public async Task A_landing_url_that_would_let_a_sub_id_pick_the_host_or_a_header_is_refused(string landingUrl)
    {
        var admin = await app.AdminAsync();
        var response = await admin.PostAsJsonAsync("/api/v1/offers", new
        {
            advertiser_id = await app.CreateAdvertiserAsync(), name = "Steerable", landing_url = landingUrl,
            goals = new[] { new { code = "sale", payout_type = "fixed", payout = 1m } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("landing_url", (await response.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_landing_url_with_non_ascii_characters_redirects_with_an_ascii_location()
    {
        // Found by the abuse suite: Kestrel refused the non-ASCII Location, so the visitor got a 500 for a click already recorded.
        var n = await app.CreateNetworkAsync("https://bücher.example/größe?q=ü&cid={click_id}", fallbackUrl: "https://shop.example/é b");
        var admin = await app.AdminAsync();
        var offer = (await admin.GetFromJsonAsync<JsonObject>($"/api/v1/offers/{n.OfferId}"))!;
        Assert.Equal("https://xn--bcher-kva.example/gr%C3%B6%C3%9Fe?q=%C3%BC&cid={click_id}", offer["landing_url"]!.GetValue<string>());
        Assert.Equal("https://shop.example/%C3%A9%20b", offer["fallback_url"]!.GetValue<string>());

        var response = await app.ClickAsync($"/c/{n.LinkCode}");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var clickId = TrackerApp.ClickIdOf(response);
        Assert.Equal($"https://xn--bcher-kva.example/gr%C3%B6%C3%9Fe?q=%C3%BC&cid={clickId}", response.Headers.Location!.OriginalString);
        await TrackerApp.WaitForClickRowAsync(clickId);
    }

    [Theory]
    [InlineData("/click?offer_id=abc&aff_id=1", "invalid_offer_id")]
    [InlineData("/click?offer_id=1", "invalid_aff_id")]
    [InlineData("/click?offer_id=-5&aff_id=1", "invalid_offer_id")]
    [InlineData("/click?offer_id=1e400&aff_id=1", "invalid_offer_id")]
    public async Task Malformed_click_parameters_get_a_400_json_error(string path, string error)
    {
        var response = await app.ClickAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(error, (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Over_long_sub_id_gets_a_400_and_records_nothing()
    {
        var n = await app.CreateNetworkAsync();
        var response = await app.ClickAsync($"/c/{n.LinkCode}?sub3={new string('x', 256)}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Contains("sub3", (await response.Content.ReadFromJsonAsync<JsonObject>())!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Control_characters_in_sub_ids_are_dropped_and_the_click_still_lands_in_postgresql()
    {
        var n = await app.CreateNetworkAsync();
        var response = await app.ClickAsync($"/c/{n.LinkCode}?sub1=a%00b%01c&sub2=%ED%A0%80x");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var row = await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(response));
        Assert.Equal("abc", row.Sub1);
        Assert.EndsWith("x", row.Sub2);
    }

    [Fact]
    public async Task Head_on_a_tracking_link_answers_like_get_without_counting_a_click()
    {
        var n = await app.CreateNetworkAsync();

        var head = await app.Browser().SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/c/{n.LinkCode}?sub1=preview"));
        var headById = await app.Browser().SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/click?offer_id={n.OfferId}&aff_id={n.PublisherId}"));
        var get = await app.ClickAsync($"/c/{n.LinkCode}?sub1=visit");

        foreach (var r in new[] { head, headById })
        {
            Assert.Equal(HttpStatusCode.Found, r.StatusCode);
            Assert.StartsWith("https://shop.example/land?cid=", r.Headers.Location!.OriginalString);
            Assert.False(r.Headers.Contains("Set-Cookie"));
        }
        await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(get));
        await app.Service<ClickFlusher>().FlushOnceAsync(TimeSpan.FromMinutes(5));
        await using var conn = await TrackerApp.DbAsync();
        Assert.Equal(["visit"], await conn.QueryAsync<string>("SELECT sub1 FROM clicks WHERE offer_id = @OfferId", n));
    }
}
