using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AffiliateTracker.ProductFeeds;

namespace AffiliateTracker.IntegrationTests;

/// Product feeds: the advertiser uploads (or the network fetches) a catalogue; publishers download it with every
/// product URL turned into their deep link; bad items are reported by line, an unreadable feed is refused whole.
public sealed class ProductFeedTests(TrackerApp app) : IClassFixture<TrackerApp>
{
    private sealed record Shop(TrackerApp.Network Net, HttpClient Advertiser, HttpClient Publisher, long FeedId);

    private async Task<Shop> ShopAsync(string? sourceUrl = null)
    {
        var n = await app.CreateNetworkAsync(offerExtra: new { deep_link_domains = new[] { "shop.example" }, deep_link_template = "clickid={click_id}" });
        var advertiser = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: n.AdvertiserId));
        var feed = await TrackerApp.Created(advertiser.PostAsJsonAsync($"/api/v1/offers/{n.OfferId}/product-feeds",
            new { name = "Catalogue", source_url = sourceUrl, fetch_every_hours = sourceUrl is null ? (int?)null : 6 }));
        return new Shop(n, advertiser, app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId)), feed["id"]!.GetValue<long>());
    }

    private const string Yml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <yml_catalog date="2026-12-01 10:00"><shop>
          <categories><category id="1">Shoes</category></categories>
          <offers>
            <offer id="s1" available="true"><url>https://shop.example/s1?color=red</url><price>49.90</price><currencyId>USD</currencyId>
              <categoryId>1</categoryId><picture>https://shop.example/s1.jpg</picture><name>Runner, "red"</name></offer>
            <offer id="s2" available="false"><url>https://evil.example/s2</url><price>10</price><name>Elsewhere</name></offer>
            <offer id="s3"><url>https://shop.example/s3</url><price>ten</price><name>No price</name></offer>
            <offer id="s1"><url>https://shop.example/again</url><price>1</price><name>Duplicate</name></offer>
            <offer id="s4" available="false"><url>https://shop.example/s4</url><price>5</price><currencyId>EUR</currencyId><name>Sock</name></offer>
          </offers>
        </shop></yml_catalog>
        """;

    private static StringContent Body(string text, string type = "application/xml") => new(text, Encoding.UTF8, type);

    [Fact]
    public async Task An_upload_keeps_good_products_and_reports_the_others_by_line()
    {
        var s = await ShopAsync();

        var report = await s.Advertiser.PutAsync($"/api/v1/product-feeds/{s.FeedId}/products", Body(Yml));
        var json = (await report.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.Equal(("yml", 2, 3), (json["format"]!.GetValue<string>(), json["products"]!.GetValue<int>(), json["skipped"]!.GetValue<int>()));
        Assert.Equal([(7, "url 'https://evil.example/s2' is not on the offer's deep-link domains"),
                      (8, "price 'ten' is not an amount of at most 4 decimals"), (9, "id s1 was already on line 5")],
            json["problems"]!.AsArray().Select(p => (p!["line"]!.GetValue<int>(), p["problem"]!.GetValue<string>())));
        var feed = (await s.Advertiser.GetFromJsonAsync<JsonObject>($"/api/v1/product-feeds/{s.FeedId}"))!;
        Assert.Equal(2, feed["products"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_publisher_downloads_every_format_with_deep_links_that_reach_the_product()
    {
        var s = await ShopAsync();
        await s.Advertiser.PutAsync($"/api/v1/product-feeds/{s.FeedId}/products", Body(Yml));

        var csv = await s.Publisher.GetStringAsync($"/api/v1/product-feeds/{s.FeedId}/download?format=csv&sub1=feed");
        var deep = $"http://tracker.test/c/{s.Net.LinkCode}?sub1=feed&url=https%3A%2F%2Fshop.example%2Fs1%3Fcolor%3Dred";
        Assert.Equal(
            "id,name,price,currency,url,image,category,availability\n"
            + $"s1,\"Runner, \"\"red\"\"\",49.90,USD,{deep},https://shop.example/s1.jpg,Shoes,in stock\n"
            + $"s4,Sock,5.00,EUR,http://tracker.test/c/{s.Net.LinkCode}?sub1=feed&url=https%3A%2F%2Fshop.example%2Fs4,,,out of stock\n", csv);

        // The downloaded XML formats read back as the same products.
        foreach (var format in new[] { "yml", "google" })
        {
            var xml = await s.Publisher.GetByteArrayAsync($"/api/v1/product-feeds/{s.FeedId}/download?format={format}&sub1=feed");
            var items = new List<RawProduct>();
            await foreach (var item in FeedReader.ReadAsync(new MemoryStream(xml), _ => { })) items.Add(item);
            Assert.Equal([("s1", "Runner, \"red\"", "49.90", "USD", deep, "Shoes"), ("s4", "Sock", "5.00", "EUR", deep.Replace("s1%3Fcolor%3Dred", "s4"), null)],
                items.Select(i => (i.Id!, i.Name!, i.Price!, i.Currency!, i.Url!, i.Category)));
        }

        var click = await app.ClickAsync(new Uri(deep).PathAndQuery);
        Assert.Equal($"https://shop.example/s1?color=red&clickid={TrackerApp.ClickIdOf(click)}", click.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task An_unreadable_feed_is_refused_whole_and_the_previous_products_stay()
    {
        var s = await ShopAsync();
        await s.Advertiser.PutAsync($"/api/v1/product-feeds/{s.FeedId}/products", Body(Yml));
        var laughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <yml_catalog><shop><offers><offer id="1"><name>&lol2;</name></offer></offers></shop></yml_catalog>
            """;

        var refused = await s.Advertiser.PutAsync($"/api/v1/product-feeds/{s.FeedId}/products", Body(laughs));
        var error = (await refused.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal("feed_unreadable", error["error"]!.GetValue<string>());
        Assert.StartsWith("Line 3: The feed is not well-formed XML", error["message"]!.GetValue<string>());
        var feed = (await s.Advertiser.GetFromJsonAsync<JsonObject>($"/api/v1/product-feeds/{s.FeedId}"))!;
        Assert.Equal(2, feed["products"]!.GetValue<int>());
        Assert.StartsWith("Line 3:", feed["last_error"]!.GetValue<string>());
        Assert.Equal(2, (await s.Publisher.GetStringAsync($"/api/v1/product-feeds/{s.FeedId}/download")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1);
    }

    /// A feed server on loopback answering every request with the same CSV, until disposed.
    private sealed class FeedServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        public string Url { get; }

        public FeedServer(int port, string csv)
        {
            Url = $"http://127.0.0.1:{port}/feed.csv";
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = await _listener.GetContextAsync(); } catch (Exception) { return; }
                    context.Response.ContentType = "text/csv";
                    await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(csv));
                    context.Response.Close();
                }
            });
        }

        public void Dispose() => _listener.Close();
    }

    [Fact]
    public async Task A_feed_with_a_source_url_is_fetched_on_demand()
    {
        using var server = new FeedServer(15191, "id,name,price,currency,url\nf1,Fetched,3.50,USD,https://shop.example/f1\n");
        var s = await ShopAsync(sourceUrl: server.Url);

        var fetched = await s.Advertiser.PostAsync($"/api/v1/product-feeds/{s.FeedId}/fetch", null);
        var report = (await fetched.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal(("csv", 1), (report["format"]!.GetValue<string>(), report["products"]!.GetValue<int>()));
    }

    [Fact]
    public async Task A_feed_with_a_source_url_is_fetched_on_its_schedule_and_a_failing_one_says_why()
    {
        using var server = new FeedServer(15192, "id,name,price,url\nq1,Scheduled,1.00,https://shop.example/q1\nq2,Second,2.00,https://shop.example/q2\n");
        var s = await ShopAsync(sourceUrl: server.Url);
        var broken = await ShopAsync(sourceUrl: "http://127.0.0.1:1/nothing-listens-here.csv");

        // The fetcher looks every 2 s in the tests (ProductFeeds:FetchInterval); this waits for the outcome, bounded.
        JsonObject feed = null!, failed = null!;
        for (var i = 0; i < 150; i++)
        {
            feed = (await s.Advertiser.GetFromJsonAsync<JsonObject>($"/api/v1/product-feeds/{s.FeedId}"))!;
            failed = (await broken.Advertiser.GetFromJsonAsync<JsonObject>($"/api/v1/product-feeds/{broken.FeedId}"))!;
            if (feed["products"]!.GetValue<int>() == 2 && failed["last_error"] is not null) break;
            await Task.Delay(200);
        }

        Assert.Equal(2, feed["products"]!.GetValue<int>());
        Assert.StartsWith("The feed could not be fetched", failed["last_error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Publishers_read_feeds_but_do_not_change_them_and_need_a_link_to_download()
    {
        var s = await ShopAsync();
        var outsider = await app.CreateNetworkAsync();
        var stranger = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: outsider.PublisherId));
        await app.GrantAsync(s.Net.OfferId, outsider.PublisherId);

        Assert.Equal(HttpStatusCode.Forbidden, (await s.Publisher.PutAsync($"/api/v1/product-feeds/{s.FeedId}/products", Body(Yml))).StatusCode);
        var listed = (await s.Publisher.GetFromJsonAsync<JsonArray>($"/api/v1/offers/{s.Net.OfferId}/product-feeds"))!.Single()!;
        Assert.Null(listed["problems"]);
        var noLink = await stranger.GetAsync($"/api/v1/product-feeds/{s.FeedId}/download");
        Assert.Equal((HttpStatusCode.Conflict, "no_tracking_link"), (noLink.StatusCode,
            (await noLink.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.BadRequest, (await s.Publisher.GetAsync($"/api/v1/product-feeds/{s.FeedId}/download?format=pdf")).StatusCode);
    }
}
