using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AffiliateTracker.Tests;

namespace AffiliateTracker.IntegrationTests;

/// Creatives: the offer's advertiser uploads banners and writes snippets; publishers who run the offer get each
/// one with their own tracking link in it; images are served to anyone, cached by their content.
public sealed class CreativeTests(TrackerApp app) : IClassFixture<TrackerApp>
{
    private static MultipartFormDataContent Form(byte[] bytes, string claimedType, string fileName = "banner.png")
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(claimedType);
        return new MultipartFormDataContent { { file, "file", fileName } };
    }

    private async Task<(TrackerApp.Network Net, HttpClient Advertiser, HttpClient Publisher)> NetworkAsync()
    {
        var n = await app.CreateNetworkAsync();
        return (n, app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: n.AdvertiserId)),
            app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId)));
    }

    [Fact]
    public async Task An_uploaded_banner_is_served_with_long_caching_and_publishers_get_it_with_their_link()
    {
        var (n, advertiser, publisher) = await NetworkAsync();
        var png = TestPng.Of(300, 250);

        var created = await TrackerApp.Created(advertiser.PostAsync($"/api/v1/offers/{n.OfferId}/creatives/images", Form(png, "image/png")));
        var listed = (await publisher.GetFromJsonAsync<JsonArray>($"/api/v1/offers/{n.OfferId}/creatives"))!.Single()!;

        Assert.Equal(("image", "banner", 300, 250, "image/png"), (created["kind"]!.GetValue<string>(), created["name"]!.GetValue<string>(),
            created["width"]!.GetValue<int>(), created["height"]!.GetValue<int>(), created["content_type"]!.GetValue<string>()));
        var imageUrl = listed["image_url"]!.GetValue<string>();
        Assert.Equal($"<a href=\"http://tracker.test/c/{n.LinkCode}\" target=\"_blank\" rel=\"sponsored noopener\"><img src=\"{imageUrl}\" width=\"300\" height=\"250\" alt=\"banner\"></a>",
            listed["code"]!.GetValue<string>());

        var image = await app.Browser().GetAsync(new Uri(imageUrl).PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal(png, await image.Content.ReadAsByteArrayAsync());
        Assert.Equal("image/png", image.Content.Headers.ContentType!.MediaType);
        Assert.Equal("public, max-age=31536000, immutable", image.Headers.CacheControl!.ToString());
        var again = new HttpRequestMessage(HttpMethod.Get, new Uri(imageUrl).PathAndQuery);
        again.Headers.IfNoneMatch.Add(image.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await app.Browser().SendAsync(again)).StatusCode);
    }

    [Fact]
    public async Task A_file_that_is_not_the_image_it_claims_is_refused_clearly()
    {
        var (n, advertiser, _) = await NetworkAsync();

        var mismatch = await advertiser.PostAsync($"/api/v1/offers/{n.OfferId}/creatives/images", Form(TestPng.Of(10, 10), "image/jpeg", "photo.jpg"));
        var svg = await advertiser.PostAsync($"/api/v1/offers/{n.OfferId}/creatives/images",
            Form("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"u8.ToArray(), "image/svg+xml", "logo.svg"));
        var html = await advertiser.PostAsync($"/api/v1/offers/{n.OfferId}/creatives/images", Form("<html>hi</html>"u8.ToArray(), "image/png"));
        var huge = await advertiser.PostAsync($"/api/v1/offers/{n.OfferId}/creatives/images", Form(new byte[3 * 1024 * 1024], "image/png"));

        var mismatchError = (await mismatch.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal((HttpStatusCode.BadRequest, "type_mismatch"), (mismatch.StatusCode, mismatchError["error"]!.GetValue<string>()));
        Assert.Contains("image/png image, not image/jpeg", mismatchError["message"]!.GetValue<string>());
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, "unsupported_image"), (svg.StatusCode, await ErrorAsync(svg)));
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, "unsupported_image"), (html.StatusCode, await ErrorAsync(html)));
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "too_large"), (huge.StatusCode, await ErrorAsync(huge)));
        Assert.Equal(0, await CountAsync(n.OfferId));
    }

    [Fact]
    public async Task Text_and_html_snippets_have_their_macros_filled_for_the_publisher()
    {
        var (n, advertiser, publisher) = await NetworkAsync();
        await TrackerApp.Created(advertiser.PostAsJsonAsync($"/api/v1/offers/{n.OfferId}/creatives",
            new { kind = "text", name = "Tweet", body = "Shoes -20% for {aff_id}: {tracking_url}" }));
        await TrackerApp.Created(advertiser.PostAsJsonAsync($"/api/v1/offers/{n.OfferId}/creatives",
            new { kind = "html", name = "Button", body = "<a class=\"btn\" href=\"{tracking_url}\">Buy</a>" }));

        var listed = (await publisher.GetFromJsonAsync<JsonArray>($"/api/v1/offers/{n.OfferId}/creatives"))!;

        Assert.Equal([$"Shoes -20% for {n.PublisherId}: http://tracker.test/c/{n.LinkCode}", $"<a class=\"btn\" href=\"http://tracker.test/c/{n.LinkCode}\">Buy</a>"],
            listed.Select(c => c!["code"]!.GetValue<string>()));
        Assert.All(listed, c => Assert.Null(c!["body"]));
    }

    [Fact]
    public async Task Only_the_network_and_the_offers_advertiser_add_creatives_and_archived_ones_disappear()
    {
        var (n, advertiser, publisher) = await NetworkAsync();
        var stranger = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: await app.CreateAdvertiserAsync()));
        var body = new { kind = "text", name = "T", body = "x {tracking_url}" };

        Assert.Equal(HttpStatusCode.Forbidden, (await publisher.PostAsJsonAsync($"/api/v1/offers/{n.OfferId}/creatives", body)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsJsonAsync($"/api/v1/offers/{n.OfferId}/creatives", body)).StatusCode);
        var image = await TrackerApp.Created(advertiser.PostAsync($"/api/v1/offers/{n.OfferId}/creatives/images", Form(TestPng.Of(2, 2), "image/png")));
        var url = new Uri(image["image_url"]!.GetValue<string>()).PathAndQuery;

        Assert.Equal(HttpStatusCode.NotFound, (await stranger.DeleteAsync($"/api/v1/creatives/{image["id"]}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await advertiser.DeleteAsync($"/api/v1/creatives/{image["id"]}")).StatusCode);
        Assert.Empty((await publisher.GetFromJsonAsync<JsonArray>($"/api/v1/offers/{n.OfferId}/creatives"))!);
        Assert.Equal(HttpStatusCode.NotFound, (await app.Browser().GetAsync(url)).StatusCode);
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage r) => (await r.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>();

    private static async Task<long> CountAsync(long offerId)
    {
        await using var conn = await TrackerApp.DbAsync();
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(conn, "SELECT count(*) FROM creatives WHERE offer_id = @offerId", new { offerId });
    }
}
