using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace AffiliateTracker.IntegrationTests;

public sealed class ManagementApiTests(TrackerApp app) : IClassFixture<TrackerApp>
{
    [Fact]
    public async Task A_publisher_sees_only_its_own_links()
    {
        var mine = await app.CreateNetworkAsync();
        var theirs = await app.CreateNetworkAsync();
        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: mine.PublisherId));

        var links = (await publisher.GetFromJsonAsync<JsonArray>("/api/v1/links"))!;
        Assert.Equal([mine.LinkCode], links.Select(l => l!["code"]!.GetValue<string>()));
        Assert.StartsWith("http://tracker.test/c/", links[0]!["tracking_url"]!.GetValue<string>());

        var admin = await app.AdminAsync();
        var otherLinkId = (await admin.GetFromJsonAsync<JsonArray>($"/api/v1/links?publisher_id={theirs.PublisherId}"))![0]!["id"]!.GetValue<long>();
        var response = await publisher.GetAsync($"/api/v1/links/{otherLinkId}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(theirs.LinkCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_publisher_creates_links_only_for_offers_it_may_run()
    {
        var n = await app.CreateNetworkAsync();
        var other = await app.CreateNetworkAsync();
        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));

        var created = await publisher.PostAsJsonAsync("/api/v1/links", new { offer_id = n.OfferId });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var code = (await created.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Found, (await app.ClickAsync($"/c/{code}")).StatusCode);

        var refused = await publisher.PostAsJsonAsync("/api/v1/links", new { offer_id = other.OfferId });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var forOther = await publisher.PostAsJsonAsync("/api/v1/links", new { offer_id = n.OfferId, publisher_id = other.PublisherId });
        Assert.Equal(HttpStatusCode.Forbidden, forOther.StatusCode);
    }

    [Fact]
    public async Task Offers_are_scoped_by_role_and_publishers_never_see_revenue()
    {
        var n = await app.CreateNetworkAsync();
        var other = await app.CreateNetworkAsync();
        var advertiser = app.WithKey(await app.IssueKeyAsync("advertiser", advertiserId: n.AdvertiserId));
        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));

        var advertiserOffers = (await advertiser.GetFromJsonAsync<JsonArray>("/api/v1/offers"))!;
        Assert.Equal([n.OfferId], advertiserOffers.Select(o => o!["id"]!.GetValue<long>()));
        Assert.Equal(HttpStatusCode.NotFound, (await advertiser.GetAsync($"/api/v1/offers/{other.OfferId}")).StatusCode);

        var publisherOffer = (await publisher.GetFromJsonAsync<JsonObject>($"/api/v1/offers/{n.OfferId}"))!;
        var goal = publisherOffer["goals"]![0]!;
        Assert.Equal(5.00m, goal["payout"]!.GetValue<decimal>());
        Assert.Null(goal["revenue"]);
        Assert.Null(publisherOffer["landing_url"]);
        Assert.Equal(HttpStatusCode.NotFound, (await publisher.GetAsync($"/api/v1/offers/{other.OfferId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await publisher.GetAsync("/api/v1/publishers")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await publisher.GetAsync($"/api/v1/publishers/{other.PublisherId}")).StatusCode);
    }

    [Fact]
    public async Task A_goal_is_added_and_changed_through_put()
    {
        // Found by the abuse suite: the offer lock was "count(*) ... FOR UPDATE", which PostgreSQL refuses, so every PUT was a 500.
        var n = await app.CreateNetworkAsync();
        var admin = await app.AdminAsync();
        var added = await admin.PutAsJsonAsync($"/api/v1/offers/{n.OfferId}/goals/upsell", new { name = "Upsell", payout_type = "fixed", payout = 3.50m });
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var changed = await admin.PutAsJsonAsync($"/api/v1/offers/{n.OfferId}/goals/upsell", new { name = "Upsell", payout_type = "percent", payout = 12m });
        var goals = (await changed.Content.ReadFromJsonAsync<JsonObject>())!["goals"]!.AsArray();
        Assert.Equal(["sale", "upsell"], goals.Select(g => g!["code"]!.GetValue<string>()));
        Assert.Equal(("percent", 12m), (goals[1]!["payout_type"]!.GetValue<string>(), goals[1]!["payout"]!.GetValue<decimal>()));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PutAsJsonAsync("/api/v1/offers/999999999/goals/upsell",
            new { payout_type = "fixed", payout = 1m })).StatusCode);
    }

    [Fact]
    public async Task Per_publisher_payout_override_is_what_that_publisher_sees()
    {
        var n = await app.CreateNetworkAsync();
        var admin = await app.AdminAsync();
        var grant = await admin.PutAsJsonAsync($"/api/v1/offers/{n.OfferId}/publishers/{n.PublisherId}",
            new { payout_overrides = new[] { new { goal = "sale", payout_type = "fixed", payout = 6.25m } } });
        Assert.Equal(HttpStatusCode.OK, grant.StatusCode);
        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));
        var offer = (await publisher.GetFromJsonAsync<JsonObject>($"/api/v1/offers/{n.OfferId}"))!;
        Assert.Equal(6.25m, offer["goals"]![0]!["payout"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task A_goal_put_on_an_offer_is_added_and_a_second_put_changes_it()
    {
        var n = await app.CreateNetworkAsync();
        var admin = await app.AdminAsync();

        var added = await admin.PutAsJsonAsync($"/api/v1/offers/{n.OfferId}/goals/lead", new { name = "Lead", payout_type = "fixed", payout = 2.00m });
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var changed = await admin.PutAsJsonAsync($"/api/v1/offers/{n.OfferId}/goals/lead", new { name = "Lead", payout_type = "fixed", payout = 2.50m, revenue = 4.00m });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);

        var goals = (await admin.GetFromJsonAsync<JsonObject>($"/api/v1/offers/{n.OfferId}"))!["goals"]!.AsArray();
        Assert.Equal(["lead", "sale"], goals.Select(g => g!["code"]!.GetValue<string>()));
        Assert.Equal((2.50m, 4.00m), (goals[0]!["payout"]!.GetValue<decimal>(), goals[0]!["revenue"]!.GetValue<decimal>()));
        Assert.Equal(HttpStatusCode.NotFound,
            (await admin.PutAsJsonAsync("/api/v1/offers/999999999/goals/lead", new { payout_type = "fixed", payout = 1m })).StatusCode);
    }

    [Fact]
    public async Task Missing_unknown_and_revoked_keys_get_401_and_a_wrong_role_403()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.WithKey(null).GetAsync("/api/v1/offers")).StatusCode);
        var unknown = await app.WithKey("atk_not-a-real-key").GetAsync("/api/v1/offers");
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("unauthorized", (await unknown.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());

        var n = await app.CreateNetworkAsync();
        var admin = await app.AdminAsync();
        var issued = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/api-keys", new { role = "publisher", publisher_id = n.PublisherId }));
        var publisher = app.WithKey(issued["key"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await publisher.GetAsync("/api/v1/links")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await publisher.PostAsJsonAsync("/api/v1/advertisers", new { name = "x" })).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/api-keys/{issued["id"]}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await publisher.GetAsync("/api/v1/links")).StatusCode);
    }

    public static TheoryData<string, string, string, string> BadBodies => new()
    {
        { "POST", "/api/v1/advertisers", """{"name": ""}""", "name" },
        { "POST", "/api/v1/advertisers", """{"name": "x", "postback_ips": ["not-an-ip"]}""", "postback_ips" },
        { "POST", "/api/v1/publishers", """{"name": "p", "min_payout": -1}""", "min_payout" },
        { "POST", "/api/v1/publishers", """{"name": "p", "postback_url": "ftp://x"}""", "postback_url" },
        { "POST", "/api/v1/offers", """{"name": "o", "landing_url": "https://x.example", "goals": []}""", "goals" },
        { "POST", "/api/v1/offers", """{"advertiser_id": 1, "name": "o", "landing_url": "javascript:alert(1)", "goals": [{"code":"a","payout_type":"fixed","payout":1}]}""", "landing_url" },
        { "POST", "/api/v1/offers", """{"advertiser_id": 1, "name": "o", "landing_url": "https://{sub1}.evil.example/", "goals": [{"code":"a","payout_type":"fixed","payout":1}]}""", "landing_url" },
        { "POST", "/api/v1/offers", """{"advertiser_id": 1, "name": "o", "landing_url": "https://x.example", "currency": "dollars", "goals": [{"code":"a","payout_type":"fixed","payout":1}]}""", "currency" },
        { "POST", "/api/v1/offers", """{"advertiser_id": 1, "name": "o", "landing_url": "https://x.example", "goals": [{"code":"a","payout_type":"percent","payout":150}]}""", "goals[0].payout" },
        { "POST", "/api/v1/offers", """{"advertiser_id": 1, "name": "o", "landing_url": "https://x.example", "goals": [{"code":"A B","payout_type":"fixed","payout":1}]}""", "goals[0].code" },
        { "POST", "/api/v1/offers", """{"advertiser_id": 1, "name": "o", "landing_url": "https://x.example", "attribution_window_hours": 0, "goals": [{"code":"a","payout_type":"fixed","payout":1}]}""", "attribution_window_hours" },
        { "POST", "/api/v1/offers", """{"advertiser_id": 999999999, "name": "o", "landing_url": "https://x.example", "goals": [{"code":"a","payout_type":"fixed","payout":1}]}""", "advertiser_id" },
        { "POST", "/api/v1/links", """{"publisher_id": 1}""", "offer_id" },
        { "POST", "/api/v1/api-keys", """{"role": "root"}""", "role" },
        { "POST", "/api/v1/api-keys", """{"role": "publisher"}""", "publisher_id" },
        { "PATCH", "/api/v1/offers/1", """{"status": "deleted"}""", "status" },
        { "PATCH", "/api/v1/links/1", """{"status": "maybe"}""", "status" },
        { "PUT", "/api/v1/offers/1/goals/sale", """{"payout_type": "fixed"}""", "goal.payout" },
        { "PUT", "/api/v1/offers/1/goals/sale", """{"payout_type": "bonus", "payout": 1}""", "goal.payout_type" },
        { "PUT", "/api/v1/offers/1/publishers/P", """{"daily_click_cap": -3}""", "daily_click_cap" },
        { "PUT", "/api/v1/offers/1/publishers/P", """{"payout_overrides": [{"goal": "nope", "payout_type": "fixed", "payout": 1}]}""", "payout_overrides.goal" },
        { "PUT", "/api/v1/offers/1/publishers/P", """{"payout_overrides": [null]}""", "payout_overrides" },
        { "PATCH", "/api/v1/offers/1", """{"goals": []}""", "goals" },
        { "PATCH", "/api/v1/offers/1", """{"fallback_url": "mailto:x@y.z"}""", "fallback_url" },
        { "PATCH", "/api/v1/advertisers/A", """{"status": "gone"}""", "status" },
        { "PATCH", "/api/v1/publishers/P", """{"name": "   "}""", "name" },
        { "PUT", "/api/v1/currency-rates/usd/EURO", """{"rate": 1.1}""", "currency" },
        { "PUT", "/api/v1/currency-rates/USD/EUR", """{"rate": 0}""", "rate" },
        { "POST", "/api/v1/conversions/C/status", """{"status": "paid", "reason": "x"}""", "status" },
        { "POST", "/api/v1/conversions/C/status", """{"status": "rejected"}""", "reason" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Invalid_fields_get_400_naming_the_field(string method, string path, string json, string field)
    {
        var n = await app.CreateNetworkAsync();
        path = path.Replace("/offers/1", $"/offers/{n.OfferId}").Replace("/publishers/P", $"/publishers/{n.PublisherId}")
            .Replace("/advertisers/A", $"/advertisers/{n.AdvertiserId}").Replace("/conversions/C", "/conversions/01M7Z5J01FC2K56S1833VFEX3M");
        if (path.Contains("/links/1"))
        {
            var admin0 = await app.AdminAsync();
            path = path.Replace("/links/1", $"/links/{(await admin0.GetFromJsonAsync<JsonArray>($"/api/v1/links?offer_id={n.OfferId}"))![0]!["id"]}");
        }
        var admin = await app.AdminAsync();
        var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        });
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, body!["field"]?.GetValue<string>());
        Assert.Equal("validation_failed", body["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/api/v1/stats/clicks?from=0001-01-01")]
    [InlineData("/api/v1/stats/clicks?from=2026-02-01&to=2026-01-01")]
    [InlineData("/api/v1/stats/clicks?from=yesterday")]
    [InlineData("/api/v1/conversions?status=paid")]
    [InlineData("/api/v1/conversions?from=not-a-date")]
    [InlineData("/api/v1/postback-log?limit=lots")]
    [InlineData("/api/v1/links?offer_id=abc")]
    [InlineData("/api/v1/offers?advertiser_id=-x")]
    // Found by the abuse suite (500s before): a NUL PostgreSQL text cannot hold, dates that overflowed the default span.
    [InlineData("/api/v1/conversions?txid=%00")]
    [InlineData("/api/v1/postback-log?click_id=a%00b")]
    [InlineData("/api/v1/publisher-postbacks?state=%00")]
    [InlineData("/api/v1/reports?to=0001-01-01")]
    [InlineData("/api/v1/reports?from=9999-12-31")]
    public async Task Malformed_query_parameters_get_a_400_json_error(string path)
    {
        var response = await (await app.AdminAsync()).GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(string.IsNullOrEmpty((await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]?.GetValue<string>()));
    }

    [Theory]
    [InlineData("DELETE", "/api/v1/api-keys/999999999")]
    [InlineData("GET", "/api/v1/conversions/01M7Z5J01FC2K56S1833VFEX3M")]
    [InlineData("GET", "/api/v1/advertisers/999999999")]
    [InlineData("DELETE", "/api/v1/offers/999999999/publishers/1")]
    [InlineData("POST", "/api/v1/advertisers/999999999/postback-token")]
    public async Task Unknown_records_get_a_404_json_error(string method, string path)
    {
        var response = await (await app.AdminAsync()).SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("POST", "/api/v1/offers", "{not json", "application/json", 400)]
    [InlineData("POST", "/api/v1/publishers", """{"name": "p", "min_payout": "lots"}""", "application/json", 400)]
    [InlineData("POST", "/api/v1/publishers", """{"name": "p", "min_payout": 1e400}""", "application/json", 400)]
    [InlineData("POST", "/api/v1/advertisers", "name=x", "application/x-www-form-urlencoded", 415)]
    [InlineData("POST", "/api/v1/advertisers", "", "application/json", 400)]
    [InlineData("DELETE", "/api/v1/advertisers", "", "application/json", 405)]
    [InlineData("GET", "/api/v1/no-such-thing", "", "application/json", 404)]
    [InlineData("GET", "/api/v1/offers/abc", "", "application/json", 404)]
    public async Task Malformed_requests_get_a_json_error_not_a_500(string method, string path, string content, string contentType, int status)
    {
        var admin = await app.AdminAsync();
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method != "GET") request.Content = new StringContent(content, Encoding.UTF8, contentType);
        var response = await admin.SendAsync(request);
        Assert.Equal(status, (int)response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.False(string.IsNullOrEmpty(body!["error"]?.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(body["message"]?.GetValue<string>()));
    }

    [Fact]
    public async Task Openapi_document_describes_the_management_api()
    {
        var doc = (await app.Browser().GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        var paths = doc["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/api/v1/offers", paths);
        Assert.Contains("/api/v1/links", paths);
        Assert.Contains("/health", paths);
    }

    [Fact]
    public async Task Health_reports_both_stores_and_the_flush_lag()
    {
        var response = await app.Browser().GetAsync("/health");
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(body["redis"]!["ok"]!.GetValue<bool>());
        Assert.True(body["postgres"]!["ok"]!.GetValue<bool>());
        Assert.NotNull(body["click_flush"]!["lag_seconds"]);
    }
}
