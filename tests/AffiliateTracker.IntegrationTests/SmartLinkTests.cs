using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AffiliateTracker.IntegrationTests;

/// Smart links: one link, ordered rules (country, device, OS, weights) choosing the offer per click from the
/// in-memory snapshot, skipping offers that cannot take the visitor, a fallback when no rule can.
public sealed class SmartLinkTests(ConversionApp app) : IClassFixture<ConversionApp>
{
    private const string Iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    private const string Windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    private const string Fallback = "https://publisher.example/more-offers";

    private sealed record Setup(long PublisherId, long[] Offers, HttpClient Publisher, ConversionApp.Network Net);

    /// One publisher granted `count` offers of one advertiser, each landing on https://oN.example/.
    private async Task<Setup> OffersAsync(int count, Func<int, object?>? extra = null)
    {
        var advertiser = await app.CreateAdvertiserAsync();
        var publisher = await app.CreatePublisherAsync();
        var offers = new long[count];
        for (var i = 0; i < count; i++)
        {
            offers[i] = await app.CreateOfferAsync(advertiser, $"https://o{i}.example/?cid={{click_id}}", extra: extra?.Invoke(i));
            await app.GrantAsync(offers[i], publisher);
        }
        var key = await app.IssueKeyAsync("publisher", publisherId: publisher);
        return new Setup(publisher, offers, app.WithKey(key), new ConversionApp.Network(advertiser, offers[0], publisher, ""));
    }

    private static async Task<JsonObject> CreateAsync(Setup s, object rules) =>
        await TrackerApp.Created(s.Publisher.PostAsJsonAsync("/api/v1/smart-links", new { name = "Smart", rules, fallback_url = Fallback }));

    private async Task<HttpResponseMessage> VisitAsync(JsonObject link, string ua, string? from = null, string query = "")
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/s/{link["code"]!.GetValue<string>()}{query}");
        request.Headers.TryAddWithoutValidation("User-Agent", $"{ua} {Guid.NewGuid():N}");
        if (from is not null) request.Headers.Add(TrackerApp.RemoteIpHeader, from);
        var r = await app.Browser().SendAsync(request);
        Assert.Equal(HttpStatusCode.Found, r.StatusCode);
        return r;
    }

    private static string Host(HttpResponseMessage r) => r.Headers.Location!.Host;

    [Fact]
    public async Task Rules_choose_by_os_and_device_and_the_click_records_the_smart_link_and_rule()
    {
        var s = await OffersAsync(2);
        var link = await CreateAsync(s, new object[]
        {
            new { os = new[] { "ios" }, offers = new[] { new { offer_id = s.Offers[0] } } },
            new { device_types = new[] { "desktop" }, offers = new[] { new { offer_id = s.Offers[1] } } },
        });

        var iphone = await VisitAsync(link, Iphone, query: "?sub1=tiktok");
        var desktop = await VisitAsync(link, Windows);

        Assert.Equal(("o0.example", "o1.example"), (Host(iphone), Host(desktop)));
        var row = await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(iphone));
        Assert.Equal((s.Offers[0], s.PublisherId, link["id"]!.GetValue<long>(), (short?)1, "tiktok"),
            (row.OfferId, row.PublisherId, row.SmartLinkId, row.SmartRule, row.Sub1));
        Assert.Equal((short?)2, (await TrackerApp.WaitForClickRowAsync(TrackerApp.ClickIdOf(desktop))).SmartRule);
    }

    [Fact]
    public async Task Countries_are_matched_from_the_visitors_address()
    {
        Assert.True(app.Service<AffiliateTracker.Clicks.VisitorCountry>().HasDatabase, "deploy/test.sh fetches the IP-to-country database");
        var s = await OffersAsync(2);
        var link = await CreateAsync(s, new object[]
        {
            new { countries = new[] { "DE" }, offers = new[] { new { offer_id = s.Offers[0] } } },
            new { offers = new[] { new { offer_id = s.Offers[1] } } },
        });

        Assert.Equal("o0.example", Host(await VisitAsync(link, Windows, from: "80.128.0.1")));
        Assert.Equal("o1.example", Host(await VisitAsync(link, Windows, from: "8.8.8.8")));
    }

    [Fact]
    public async Task Paused_capped_and_country_closed_offers_are_skipped_and_when_none_is_left_the_fallback_takes_the_visitor()
    {
        var s = await OffersAsync(3, i => i switch
        {
            0 => new { status = "paused" },
            1 => new { daily_click_cap = 1 },
            _ => new { allowed_countries = new[] { "DE" } },
        });
        var link = await CreateAsync(s, new object[]
        {
            new { offers = new[] { new { offer_id = s.Offers[0], weight = 1000 }, new { offer_id = s.Offers[1], weight = 1 } } },
            new { offers = new[] { new { offer_id = s.Offers[2] } } },
        });

        var first = await VisitAsync(link, Windows, from: "8.8.8.8");
        var second = await VisitAsync(link, Windows, from: "8.8.8.8");

        Assert.Equal("o1.example", Host(first));
        Assert.Equal(Fallback, second.Headers.Location!.OriginalString);
        Assert.DoesNotContain(second.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], c => c.StartsWith("atc_"));
    }

    [Fact]
    public async Task The_fallback_takes_the_visitors_sub_ids_and_the_publisher()
    {
        var s = await OffersAsync(1, _ => new { status = "paused" });
        var link = await TrackerApp.Created(s.Publisher.PostAsJsonAsync("/api/v1/smart-links", new
        {
            name = "Paused only", rules = new[] { new { offers = new[] { new { offer_id = s.Offers[0] } } } },
            fallback_url = "https://publisher.example/more?s1={sub1}&src={source}&p={aff_id}&c={click_id}",
        }));

        var r = await VisitAsync(link, Windows, query: "?sub1=tik%20tok&source=" + new string('x', 300));

        Assert.Equal($"https://publisher.example/more?s1=tik%20tok&src=&p={s.PublisherId}&c=", r.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Weights_split_traffic_between_offers()
    {
        var s = await OffersAsync(2);
        var link = await CreateAsync(s, new object[]
        {
            new { offers = new[] { new { offer_id = s.Offers[0], weight = 1 }, new { offer_id = s.Offers[1], weight = 1 } } },
        });

        var hosts = new List<string>();
        for (var i = 0; i < 60; i++) hosts.Add(Host(await VisitAsync(link, Windows)));

        // Each has a 1 in 2^60 chance of never being drawn.
        Assert.Contains("o0.example", hosts);
        Assert.Contains("o1.example", hosts);
    }

    [Fact]
    public async Task The_report_groups_clicks_and_conversions_by_smart_link_and_rule()
    {
        var s = await OffersAsync(1);
        var token = await app.PostbackTokenAsync(s.Net.AdvertiserId);
        var link = await CreateAsync(s, new object[]
        {
            new { os = new[] { "ios" }, offers = new[] { new { offer_id = s.Offers[0] } } },
            new { offers = new[] { new { offer_id = s.Offers[0] } } },
        });
        var ios = TrackerApp.ClickIdOf(await VisitAsync(link, Iphone));
        var other = TrackerApp.ClickIdOf(await VisitAsync(link, Windows));
        var third = TrackerApp.ClickIdOf(await VisitAsync(link, Windows));
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(200, (await app.PostbackAsync($"click_id={ios}&txid=smart-{ios}&token={token}")).Status);
        // Every click is counted once it is in PostgreSQL: each may be in another flush pass.
        foreach (var click in new[] { ios, other, third }) await TrackerApp.WaitForClickRowAsync(click);
        await TrackerApp.WaitForRowCountAsync("SELECT count(*) FROM conversions WHERE click_id = @ios", new { ios }, 1);

        var from = Uri.EscapeDataString(app.Clock.GetUtcNow().AddDays(-1).ToString("O"));
        var to = Uri.EscapeDataString(app.Clock.GetUtcNow().AddDays(1).ToString("O"));
        var report = (await s.Publisher.GetFromJsonAsync<JsonArray>($"/api/v1/reports?group_by=smart_link,smart_rule&from={from}&to={to}"))!;

        var rows = report.Select(r => (r!["smart_link_id"]!.GetValue<long>(), r["smart_rule"]!.GetValue<int>(), r["clicks"]!.GetValue<long>(),
            r["conversions"]!.GetValue<long>())).ToList();
        var id = link["id"]!.GetValue<long>();
        Assert.Equal([(id, 1, 1L, 1L), (id, 2, 2L, 0L)], rows);
        var withOffer = await s.Publisher.GetAsync($"/api/v1/reports?group_by=smart_link,offer&from={from}&to={to}");
        Assert.Equal(HttpStatusCode.OK, withOffer.StatusCode);
        var byOffer = (await withOffer.Content.ReadFromJsonAsync<JsonArray>())!.Single()!;
        Assert.Equal((3L, 1L), (byOffer["clicks"]!.GetValue<long>(), byOffer["conversions"]!.GetValue<long>()));
    }

    [Fact]
    public async Task Rules_are_checked_and_another_publishers_smart_link_is_not_found()
    {
        var s = await OffersAsync(1);
        var stranger = await app.CreateOfferAsync(await app.CreateAdvertiserAsync());

        var notGranted = await s.Publisher.PostAsJsonAsync("/api/v1/smart-links", new
        {
            name = "x", fallback_url = Fallback, rules = new[] { new { offers = new[] { new { offer_id = stranger } } } },
        });
        var badOs = await s.Publisher.PostAsJsonAsync("/api/v1/smart-links", new
        {
            name = "x", fallback_url = Fallback, rules = new[] { new { os = new[] { "beos" }, offers = new[] { new { offer_id = s.Offers[0] } } } },
        });
        var badFallback = await s.Publisher.PostAsJsonAsync("/api/v1/smart-links", new
        {
            name = "x", fallback_url = "javascript:alert(1)", rules = new[] { new { offers = new[] { new { offer_id = s.Offers[0] } } } },
        });

        Assert.Equal("rules[0].offers[0].offer_id", (await notGranted.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        Assert.Equal("rules[0].os", (await badOs.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        Assert.Equal("fallback_url", (await badFallback.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());

        var link = await CreateAsync(s, new object[] { new { offers = new[] { new { offer_id = s.Offers[0] } } } });
        var other = await OffersAsync(1);
        Assert.Equal(HttpStatusCode.NotFound, (await other.Publisher.GetAsync($"/api/v1/smart-links/{link["id"]}")).StatusCode);
        var disabled = await s.Publisher.PatchAsJsonAsync($"/api/v1/smart-links/{link["id"]}", new { status = "disabled" });
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        // The fallback is the publisher's own URL: a disabled smart link sends nobody there.
        var request = new HttpRequestMessage(HttpMethod.Get, $"/s/{link["code"]!.GetValue<string>()}");
        Assert.Equal(HttpStatusCode.NotFound, (await app.Browser().SendAsync(request)).StatusCode);
    }
}
