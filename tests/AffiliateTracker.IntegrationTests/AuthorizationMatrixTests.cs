using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Routing;
using Xunit.Abstractions;

namespace AffiliateTracker.IntegrationTests;

/// Every management endpoint called by every kind of caller, once, against two networks: the owner's
/// (every request names its records) and another one's. The answers are kept for the tests below.
public sealed class AuthorizationMatrix : IAsyncLifetime
{
    public enum Role { Admin, Advertiser, OtherAdvertiser, Publisher, OtherPublisher, NoKey, RevokedKey }
    public static readonly Role[] Roles = Enum.GetValues<Role>();
    public static readonly string[] RoleNames = ["admin", "adv", "adv2", "pub", "pub2", "none", "revoked"];

    public sealed record Answer(int Status, string Body, string? ContentType);

    /// One network's records and the strings that would give its data away in someone else's answer.
    public sealed record Side(long AdvertiserId, long PublisherId, long OfferId, long LinkId, string Marker, string[] Secrets,
        string ClickA, string ClickB, string ConversionA, string ConversionB, long PayoutLineId, long SmartLinkId,
        long CreativeId, long FeedId)
    {
        public IEnumerable<string> Strings => Secrets.Append(Marker).Append(ClickA).Append(ClickB).Append(ConversionA).Append(ConversionB);
    }

    /// What a request needs to name: both networks' records and a few shared ones.
    public sealed record World(Side Owner, Side Other, long ExtraPublisherId, long DraftRunId, long EmptyRunId, long ReconciliationId,
        long DisposableKeyId, long OwnKeyId, long ApproveRequestId, long DeclineRequestId, long UserId);

    /// A route as the route table names it ("GET /api/v1/offers/{id:long}"), the request that calls it for the
    /// owner's record, and the expected status for admin, owner advertiser, other advertiser, owner publisher,
    /// other publisher. No key and a revoked key always get 401.
    public sealed record Row(string Route, Func<World, Request> Build, string Expected, Func<AuthorizationMatrix, Task>? Before = null)
    {
        public int[] ExpectedByRole => Expected.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Concat([401, 401]).ToArray();
    }

    public sealed record Request(string Path, string? Json = null, string? Csv = null, byte[]? Png = null);

    private static Request To(string path) => new(path);
    private static Request Json(string path, object body) => new(path, Json: System.Text.Json.JsonSerializer.Serialize(body));

    // Expected: admin, adv, adv2, pub, pub2. 403 = the role may never do this; 404 = not this caller's record
    // (also for a role that never owns such records: a record endpoint does not confirm that the id exists).
    public static readonly Row[] Rows =
    [
        new("GET /api/v1/me", _ => To("/api/v1/me"), "200 200 200 200 200"),

        new("POST /api/v1/advertisers", _ => Json("/api/v1/advertisers", new { name = "matrix new advertiser" }), "201 403 403 403 403"),
        new("GET /api/v1/advertisers", _ => To("/api/v1/advertisers"), "200 403 403 403 403"),
        new("GET /api/v1/advertisers/{id:long}", w => To($"/api/v1/advertisers/{w.Owner.AdvertiserId}"), "200 200 404 404 404"),
        new("PATCH /api/v1/advertisers/{id:long}", w => Json($"/api/v1/advertisers/{w.Owner.AdvertiserId}", new { postback_ips = Array.Empty<string>() }), "200 403 403 403 403"),
        new("POST /api/v1/advertisers/{id:long}/signing-key", w => To($"/api/v1/advertisers/{w.Owner.AdvertiserId}/signing-key"), "200 200 404 404 404"),
        new("POST /api/v1/advertisers/{id:long}/postback-token", w => To($"/api/v1/advertisers/{w.Owner.AdvertiserId}/postback-token"), "200 200 404 404 404"),

        new("POST /api/v1/publishers", _ => Json("/api/v1/publishers", new { name = "matrix new publisher" }), "201 403 403 403 403"),
        new("GET /api/v1/publishers", _ => To("/api/v1/publishers"), "200 403 403 403 403"),
        new("GET /api/v1/publishers/{id:long}", w => To($"/api/v1/publishers/{w.Owner.PublisherId}"), "200 404 404 200 404"),
        new("PATCH /api/v1/publishers/{id:long}", w => Json($"/api/v1/publishers/{w.Owner.PublisherId}", new { postback_url = PostbackUrl(w.Owner.Marker) }), "200 404 404 200 404"),

        new("POST /api/v1/offers", w => Json("/api/v1/offers", new
        {
            advertiser_id = w.Owner.AdvertiserId, name = "matrix new offer", landing_url = "https://shop.example/?c={click_id}",
            goals = new[] { new { code = "sale", payout_type = "fixed", payout = 1m } },
        }), "201 403 403 403 403"),
        new("GET /api/v1/offers", w => To($"/api/v1/offers?advertiser_id={w.Owner.AdvertiserId}"), "200 200 200 200 200"),
        new("GET /api/v1/offers/{id:long}", w => To($"/api/v1/offers/{w.Owner.OfferId}"), "200 200 404 200 404"),
        new("PATCH /api/v1/offers/{id:long}", w => Json($"/api/v1/offers/{w.Owner.OfferId}", new { status = "active" }), "200 403 403 403 403"),
        new("PUT /api/v1/offers/{id:long}/goals/{code}", w => Json($"/api/v1/offers/{w.Owner.OfferId}/goals/sale",
            new { name = "Sale", payout_type = "fixed", payout = 5.00m, revenue_type = "fixed", revenue = 8.00m }), "200 403 403 403 403"),
        new("PUT /api/v1/offers/{id:long}/publishers/{publisherId:long}", w => Json($"/api/v1/offers/{w.Owner.OfferId}/publishers/{w.ExtraPublisherId}", new { }),
            "200 403 403 403 403"),
        new("GET /api/v1/offers/{id:long}/publishers", w => To($"/api/v1/offers/{w.Owner.OfferId}/publishers"), "200 403 403 403 403"),
        new("DELETE /api/v1/offers/{id:long}/publishers/{publisherId:long}", w => To($"/api/v1/offers/{w.Owner.OfferId}/publishers/{w.ExtraPublisherId}"),
            "204 403 403 403 403", m => m.GrantExtraPublisherAsync()),

        // The catalog and access requests: the owner's offer is private and granted to the owner publisher.
        new("GET /api/v1/offer-catalog", _ => To("/api/v1/offer-catalog"), "403 403 403 200 200"),
        new("POST /api/v1/offers/{id:long}/access-requests", w => Json($"/api/v1/offers/{w.Owner.OfferId}/access-requests", new { message = "matrix" }),
            "403 403 403 409 404"),
        new("GET /api/v1/access-requests", _ => To("/api/v1/access-requests"), "200 403 403 200 200"),
        new("POST /api/v1/access-requests/{id:long}/approve", w => To($"/api/v1/access-requests/{w.ApproveRequestId}/approve"), "200 403 403 403 403"),
        new("POST /api/v1/access-requests/{id:long}/decline", w => Json($"/api/v1/access-requests/{w.DeclineRequestId}/decline", new { reason = "matrix" }),
            "200 403 403 403 403"),

        new("POST /api/v1/links", w => Json("/api/v1/links", new { offer_id = w.Owner.OfferId, publisher_id = w.Owner.PublisherId }), "201 403 403 201 403"),
        new("GET /api/v1/links", w => To($"/api/v1/links?offer_id={w.Owner.OfferId}"), "200 403 403 200 200"),
        new("GET /api/v1/links/{id:long}", w => To($"/api/v1/links/{w.Owner.LinkId}"), "200 404 404 200 404"),
        new("PATCH /api/v1/links/{id:long}", w => Json($"/api/v1/links/{w.Owner.LinkId}", new { status = "active" }), "200 404 404 200 404"),
        new("GET /api/v1/offers/{offerId:long}/creatives", w => To($"/api/v1/offers/{w.Owner.OfferId}/creatives"), "200 200 404 200 404"),
        new("POST /api/v1/offers/{offerId:long}/creatives", w => Json($"/api/v1/offers/{w.Owner.OfferId}/creatives",
            new { kind = "html", name = "matrix", body = "<a href=\"{tracking_url}\">x</a>" }), "201 201 404 403 403"),
        new("POST /api/v1/offers/{offerId:long}/creatives/images", w => new Request($"/api/v1/offers/{w.Owner.OfferId}/creatives/images?name=matrix",
            Png: AffiliateTracker.Tests.TestPng.Of(4, 4)), "201 201 404 403 403"),
        new("DELETE /api/v1/creatives/{id:long}", w => To($"/api/v1/creatives/{w.Owner.CreativeId}"), "404 204 404 403 403"),
        new("GET /api/v1/offers/{offerId:long}/product-feeds", w => To($"/api/v1/offers/{w.Owner.OfferId}/product-feeds"), "200 200 404 200 404"),
        new("POST /api/v1/offers/{offerId:long}/product-feeds", w => Json($"/api/v1/offers/{w.Owner.OfferId}/product-feeds", new { name = "matrix feed" }),
            "201 201 404 403 403"),
        new("GET /api/v1/product-feeds/{id:long}", w => To($"/api/v1/product-feeds/{w.Owner.FeedId}"), "200 200 404 200 404"),
        new("PUT /api/v1/product-feeds/{id:long}/products", w => new Request($"/api/v1/product-feeds/{w.Owner.FeedId}/products",
            Csv: "id,name,price,url\nm1,Matrix,1.00,https://shop.example/m1\n"), "200 200 404 403 403"),
        new("POST /api/v1/product-feeds/{id:long}/fetch", w => To($"/api/v1/product-feeds/{w.Owner.FeedId}/fetch"), "409 409 404 403 403"),
        new("GET /api/v1/product-feeds/{id:long}/download", w => To($"/api/v1/product-feeds/{w.Owner.FeedId}/download"), "200 200 404 200 404"),
        new("DELETE /api/v1/product-feeds/{id:long}", w => To($"/api/v1/product-feeds/{w.Owner.FeedId}"), "404 204 404 403 403"),

        new("POST /api/v1/costs", w => Json("/api/v1/costs", new { publisher_id = w.Owner.PublisherId,
            costs = new[] { new { day = DateTime.UtcNow.ToString("yyyy-MM-dd"), offer_id = w.Owner.OfferId, amount = "1.00" } } }), "200 403 403 200 403"),
        new("POST /api/v1/costs/csv", w => new Request($"/api/v1/costs/csv?publisher_id={w.Owner.PublisherId}",
            Csv: $"day,offer_id,amount\n{DateTime.UtcNow:yyyy-MM-dd},{w.Owner.OfferId},2.00\n"), "200 403 403 200 403"),
        new("GET /api/v1/costs", _ => To("/api/v1/costs"), "200 403 403 200 200"),

        new("POST /api/v1/smart-links", w => Json("/api/v1/smart-links", new { publisher_id = w.Owner.PublisherId, name = "matrix smart",
            fallback_url = "https://matrix.example/", rules = new[] { new { offers = new[] { new { offer_id = w.Owner.OfferId } } } } }), "201 403 403 201 403"),
        new("GET /api/v1/smart-links", _ => To("/api/v1/smart-links"), "200 403 403 200 200"),
        new("GET /api/v1/smart-links/{id:long}", w => To($"/api/v1/smart-links/{w.Owner.SmartLinkId}"), "200 404 404 200 404"),
        new("PATCH /api/v1/smart-links/{id:long}", w => Json($"/api/v1/smart-links/{w.Owner.SmartLinkId}", new { status = "active" }), "200 404 404 200 404"),

        new("POST /api/v1/api-keys", w => Json("/api/v1/api-keys", new { role = "publisher", publisher_id = w.Owner.PublisherId }), "201 403 403 403 403"),
        new("GET /api/v1/api-keys", _ => To("/api/v1/api-keys"), "200 403 403 403 403"),
        new("DELETE /api/v1/api-keys/{id:long}", w => To($"/api/v1/api-keys/{w.DisposableKeyId}"), "204 403 403 403 403"),
        // Every caller's own keys: listed and issued with the caller's own role and owner, revoked only by that owner.
        new("GET /api/v1/me/api-keys", _ => To("/api/v1/me/api-keys"), "200 200 200 200 200"),
        new("POST /api/v1/me/api-keys", _ => Json("/api/v1/me/api-keys", new { name = "matrix own key" }), "201 201 201 201 201"),
        new("DELETE /api/v1/me/api-keys/{id:long}", w => To($"/api/v1/me/api-keys/{w.OwnKeyId}"), "404 404 404 204 404"),

        new("GET /api/v1/stats/clicks", w => To($"/api/v1/stats/clicks?offer_id={w.Owner.OfferId}"), "200 200 200 200 200"),

        new("GET /api/v1/conversions", w => To($"/api/v1/conversions?offer_id={w.Owner.OfferId}"), "200 200 200 200 200"),
        new("GET /api/v1/conversions/{id}", w => To($"/api/v1/conversions/{w.Owner.ConversionA}"), "200 200 404 200 404"),
        // Rejecting twice is allowed (nothing changes), so both the owner and then the admin get 200.
        new("POST /api/v1/conversions/{id}/status", w => Json($"/api/v1/conversions/{w.Owner.ConversionA}/status", new { status = "rejected", reason = "matrix" }),
            "200 200 404 403 403"),
        new("GET /api/v1/postback-log", w => To($"/api/v1/postback-log?click_id={w.Owner.ClickA}"), "200 200 200 403 403"),
        new("POST /api/v1/publisher-postbacks/test", w => To($"/api/v1/publisher-postbacks/test?publisher_id={w.Owner.PublisherId}"), "200 403 403 200 404"),
        new("GET /api/v1/publisher-postbacks", w => To($"/api/v1/publisher-postbacks?publisher_id={w.Owner.PublisherId}"), "200 403 403 200 200"),

        new("PUT /api/v1/currency-rates/{from}/{to}", _ => Json("/api/v1/currency-rates/ZZA/ZZB", new { rate = 1.5m }), "200 403 403 403 403"),
        new("GET /api/v1/currency-rates", _ => To("/api/v1/currency-rates"), "200 403 403 403 403"),

        new("GET /api/v1/balances", w => To($"/api/v1/balances?publisher_id={w.Owner.PublisherId}"), "200 403 403 200 200"),
        // A run with a period that ended in 2001 claims nothing, so it leaves other tests' balances alone.
        new("POST /api/v1/payout-runs", _ => Json("/api/v1/payout-runs", new { period_end = "2001-01-01T00:00:00Z" }), "201 403 403 403 403"),
        new("GET /api/v1/payout-runs", _ => To("/api/v1/payout-runs"), "200 403 403 403 403"),
        // A run spans the network: the other publisher has its own line in it and sees that line only.
        new("GET /api/v1/payout-runs/{id:long}", w => To($"/api/v1/payout-runs/{w.DraftRunId}"), "200 404 404 200 200"),
        new("POST /api/v1/payout-runs/{id:long}/approve", w => To($"/api/v1/payout-runs/{w.DraftRunId}/approve"), "200 403 403 403 403"),
        new("POST /api/v1/payout-runs/{id:long}/cancel", w => To($"/api/v1/payout-runs/{w.EmptyRunId}/cancel"), "200 403 403 403 403"),
        new("POST /api/v1/payout-runs/{id:long}/lines/{lineId:long}/paid", w => Json($"/api/v1/payout-runs/{w.DraftRunId}/lines/{w.Owner.PayoutLineId}/paid",
            new { payment_reference = "WIRE-MATRIX" }), "200 403 403 403 403", m => m.ApproveRunAsync()),
        new("GET /api/v1/payout-runs/{id:long}/export.csv", w => To($"/api/v1/payout-runs/{w.DraftRunId}/export.csv"), "200 403 403 403 403"),
        new("GET /api/v1/payout-lines", w => To($"/api/v1/payout-lines?publisher_id={w.Owner.PublisherId}"), "200 403 403 200 200"),
        new("GET /api/v1/payout-lines/{lineId:long}/items", w => To($"/api/v1/payout-lines/{w.Owner.PayoutLineId}/items"), "200 404 404 200 404"),
        new("GET /api/v1/ledger-check", _ => To("/api/v1/ledger-check"), "200 403 403 403 403"),

        new("POST /api/v1/reconciliations", w => new Request($"/api/v1/reconciliations?advertiser_id={w.Owner.AdvertiserId}",
            Csv: $"txid,status,amount\n{w.Owner.Marker}-tx-b,approved,10.00\n"), "201 201 404 403 403"),
        new("GET /api/v1/reconciliations", _ => To("/api/v1/reconciliations"), "200 200 200 403 403"),
        new("POST /api/v1/reconciliations/{id:long}/submit", w => To($"/api/v1/reconciliations/{w.ReconciliationId}/submit"), "204 204 404 404 404"),
        new("GET /api/v1/reconciliations/{id:long}", w => To($"/api/v1/reconciliations/{w.ReconciliationId}"), "200 200 404 404 404"),
        new("GET /api/v1/reconciliations/{id:long}/items", w => To($"/api/v1/reconciliations/{w.ReconciliationId}/items"), "200 200 404 404 404"),
        new("POST /api/v1/reconciliations/{id:long}/apply", w => To($"/api/v1/reconciliations/{w.ReconciliationId}/apply"), "200 403 403 403 403"),

        new("GET /api/v1/reports", _ => To("/api/v1/reports?group_by=offer,publisher"), "200 200 200 200 200"),

        new("GET /api/v1/users", _ => To("/api/v1/users"), "200 403 403 403 403"),
        new("POST /api/v1/users/{id:long}/status", w => Json($"/api/v1/users/{w.UserId}/status", new { status = "active" }), "200 403 403 403 403"),
        new("POST /api/v1/invitations", w => Json("/api/v1/invitations", new { email = $"{w.Owner.Marker}@invited.test", role = "publisher", publisher_id = w.Owner.PublisherId }),
            "201 403 403 403 403"),
    ];

    public TrackerApp App { get; } = new();
    public World Setup { get; private set; } = null!;
    /// Answers[row][role].
    public Answer[][] Answers { get; private set; } = [];

    private readonly Dictionary<Role, string?> _keys = [];

    public async Task InitializeAsync()
    {
        Setup = await BuildWorldAsync();
        Answers = new Answer[Rows.Length][];
        for (var i = 0; i < Rows.Length; i++)
        {
            var row = Rows[i];
            if (row.Before is not null) await row.Before(this);
            var request = row.Build(Setup);
            var method = row.Route[..row.Route.IndexOf(' ')];
            Answers[i] = new Answer[Roles.Length];
            // Refusals first and the admin last, so a change the admin makes cannot hide another caller's answer.
            foreach (var role in Enumerable.Reverse(Roles)) Answers[i][(int)role] = await CallAsync(role, method, request);
        }
    }

    public async Task DisposeAsync() => await App.DisposeAsync();

    private async Task<Answer> CallAsync(Role role, string method, Request request)
    {
        var message = new HttpRequestMessage(new HttpMethod(method), request.Path);
        if (request.Json is not null) message.Content = new StringContent(request.Json, Encoding.UTF8, "application/json");
        if (request.Csv is not null) message.Content = new StringContent(request.Csv, Encoding.UTF8, "text/csv");
        if (request.Png is not null) message.Content = new ByteArrayContent(request.Png) { Headers = { ContentType = new("image/png") } };
        var response = await App.WithKey(_keys[role]).SendAsync(message);
        return new Answer((int)response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    // ---- the two networks ----

    private static string PostbackUrl(string marker) => $"https://{marker}.example/pb?c={{click_id}}&t={{txid}}";

    private async Task<World> BuildWorldAsync()
    {
        var admin = await App.AdminAsync();
        var owner = await SideAsync("owner");
        var other = await SideAsync("other");

        // The approved conversions of both sides go into one draft run; its period ends just after them, so it
        // claims nothing another test approves later.
        var periodEnd = await Scalar<DateTime>("SELECT max(status_changed_at) FROM conversions WHERE id = ANY(@ids)",
            new { ids = new[] { owner.ConversionB, other.ConversionB } });
        var run = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/payout-runs", new { period_end = periodEnd.AddMilliseconds(1).ToString("O") }));
        long LineOf(long publisherId) => run["lines"]!.AsArray().Single(l => l!["publisher_id"]!.GetValue<long>() == publisherId)!["id"]!.GetValue<long>();
        owner = owner with { PayoutLineId = LineOf(owner.PublisherId) };
        other = other with { PayoutLineId = LineOf(other.PublisherId) };
        var emptyRun = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/payout-runs", new { period_end = "2001-01-01T00:00:00Z" }));

        var reconciliation = await TrackerApp.Created(admin.PostAsync($"/api/v1/reconciliations?advertiser_id={owner.AdvertiserId}",
            new StringContent($"txid,status,amount\n{owner.Marker}-tx-a,rejected,10.00\n{owner.Marker}-tx-b,approved,10.00\n", Encoding.UTF8, "text/csv")));

        var extraPublisher = await App.CreatePublisherAsync("Matrix extra");
        var disposable = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/api-keys", new { role = "publisher", publisher_id = owner.PublisherId }));
        var own = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/api-keys", new { role = "publisher", publisher_id = owner.PublisherId }));

        _keys[Role.Admin] = await App.IssueKeyAsync("admin");
        _keys[Role.Advertiser] = await App.IssueKeyAsync("advertiser", advertiserId: owner.AdvertiserId);
        _keys[Role.OtherAdvertiser] = await App.IssueKeyAsync("advertiser", advertiserId: other.AdvertiserId);
        _keys[Role.Publisher] = await App.IssueKeyAsync("publisher", publisherId: owner.PublisherId);
        _keys[Role.OtherPublisher] = await App.IssueKeyAsync("publisher", publisherId: other.PublisherId);
        _keys[Role.NoKey] = null;
        var revoked = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/api-keys", new { role = "admin" }));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/api-keys/{revoked["id"]}")).StatusCode);
        _keys[Role.RevokedKey] = revoked["key"]!.GetValue<string>();

        // Two public offers of the other network, which its publisher asks to run.
        var asker = App.WithKey(_keys[Role.OtherPublisher]);
        var requests = new List<long>();
        for (var i = 0; i < 2; i++)
        {
            var offer = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/offers", new
            {
                advertiser_id = other.AdvertiserId, name = $"matrix public offer {i}", landing_url = "https://shop.example/?c={click_id}",
                visibility = "public", goals = new[] { new { code = "sale", payout_type = "fixed", payout = 1m } },
            }));
            var request = await TrackerApp.Created(asker.PostAsJsonAsync($"/api/v1/offers/{offer["id"]}/access-requests", new { message = "matrix" }));
            requests.Add(request["id"]!.GetValue<long>());
        }

        return new World(owner, other, extraPublisher, run["id"]!.GetValue<long>(), emptyRun["id"]!.GetValue<long>(),
            reconciliation["id"]!.GetValue<long>(), disposable["id"]!.GetValue<long>(), own["id"]!.GetValue<long>(),
            requests[0], requests[1], await UserAsync(owner));
    }

    /// A console user of the owner's publisher.
    private async Task<long> UserAsync(Side owner)
    {
        await using var conn = new Npgsql.NpgsqlConnection(TrackerApp.PostgresConnection);
        await conn.OpenAsync();
        return await AffiliateTracker.Console.Account.ConsoleUsers.CreateAsync(conn, null, $"{owner.Marker.ToLowerInvariant()}@matrix.test", "matrix-password-1", "publisher", null, owner.PublisherId);
    }

    /// An advertiser, a publisher and an offer whose names carry a marker, a link, two clicks and two
    /// conversions (the second approved and so payable).
    private async Task<Side> SideAsync(string label)
    {
        var admin = await App.AdminAsync();
        var marker = $"mx{label}{Guid.NewGuid():N}";
        var advertiserId = (await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/advertisers", new { name = $"{marker} advertiser" })))["id"]!.GetValue<long>();
        var publisherId = (await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/publishers",
            new { name = $"{marker} publisher", min_payout = 1m, postback_url = PostbackUrl(marker) })))["id"]!.GetValue<long>();
        var offerId = await App.CreateOfferAsync(advertiserId, extra: new { name = $"{marker} offer", deep_link_domains = new[] { "shop.example" } });
        await App.GrantAsync(offerId, publisherId);
        var link = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/links", new { offer_id = offerId, publisher_id = publisherId }));
        var code = link["code"]!.GetValue<string>();
        var token = (await (await admin.PostAsync($"/api/v1/advertisers/{advertiserId}/postback-token", null)).Content.ReadFromJsonAsync<JsonObject>())!
            ["postback_token"]!.GetValue<string>();

        var clickA = TrackerApp.ClickIdOf(await App.ClickAsync($"/c/{code}?sub1={marker}-s1"));
        var clickB = TrackerApp.ClickIdOf(await App.ClickAsync($"/c/{code}?sub1={marker}-s1", $"Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0 {marker}"));
        await TrackerApp.WaitForClickRowAsync(clickA);
        await TrackerApp.WaitForClickRowAsync(clickB);
        var conversionA = await ConvertAsync(clickA, $"{marker}-tx-a", token);
        var conversionB = await ConvertAsync(clickB, $"{marker}-tx-b", token);
        // Conversions this soon after the click are held for review; an admin approves.
        var approved = await admin.PostAsJsonAsync($"/api/v1/conversions/{conversionB}/status", new { status = "approved", reason = "matrix setup" });
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);

        var smart = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/smart-links", new
        {
            publisher_id = publisherId, name = $"{marker} smart", fallback_url = $"https://{marker}.example/",
            rules = new[] { new { offers = new[] { new { offer_id = offerId } } } },
        }));
        var creative = await TrackerApp.Created(admin.PostAsJsonAsync($"/api/v1/offers/{offerId}/creatives",
            new { kind = "text", name = $"{marker} creative", body = $"{marker} {{tracking_url}}" }));
        var feed = await TrackerApp.Created(admin.PostAsJsonAsync($"/api/v1/offers/{offerId}/product-feeds", new { name = $"{marker} feed" }));
        return new Side(advertiserId, publisherId, offerId, link["id"]!.GetValue<long>(), marker, [code, token, smart["code"]!.GetValue<string>()],
            clickA, clickB, conversionA, conversionB, 0, smart["id"]!.GetValue<long>(), creative["id"]!.GetValue<long>(), feed["id"]!.GetValue<long>());
    }

    private async Task<string> ConvertAsync(string clickId, string txid, string token)
    {
        var body = (await App.Browser().GetFromJsonAsync<JsonObject>($"/postback?click_id={clickId}&txid={txid}&amount=10.00&token={token}"))!;
        var id = body["conversion_id"]!.GetValue<string>();
        for (var deadline = DateTime.UtcNow.AddSeconds(45); await Scalar<long>("SELECT count(*) FROM conversions WHERE id = @id", new { id }) == 0; await Task.Delay(50))
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Conversion {id} never reached PostgreSQL");
        return id;
    }

    private static async Task<T> Scalar<T>(string sql, object args)
    {
        await using var conn = await TrackerApp.DbAsync();
        return (await conn.ExecuteScalarAsync<T>(sql, args))!;
    }

    private async Task GrantExtraPublisherAsync() => await App.GrantAsync(Setup.Owner.OfferId, Setup.ExtraPublisherId);

    private async Task ApproveRunAsync()
    {
        var admin = await App.AdminAsync();
        if (await Scalar<string>("SELECT status FROM payout_runs WHERE id = @id", new { id = Setup.DraftRunId }) == "draft")
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/payout-runs/{Setup.DraftRunId}/approve", null)).StatusCode);
    }
}

[Collection(PayoutRunCollection.Name)]
public sealed class AuthorizationMatrixTests(AuthorizationMatrix matrix, ITestOutputHelper output) : IClassFixture<AuthorizationMatrix>
{
    private static string Normalize(string route) => route.Length > 1 ? route.TrimEnd('/') : route;

    [Fact]
    public void The_matrix_has_a_row_for_every_management_route_and_no_row_for_a_route_that_is_gone()
    {
        var routes = matrix.App.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1") == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["ANY"]).Select(m => $"{m} {Normalize(e.RoutePattern.RawText!)}"))
            .ToHashSet();
        var rows = AuthorizationMatrix.Rows.Select(r => r.Route).ToList();

        Assert.Equal(rows.Count, rows.Distinct().Count());
        Assert.Empty(routes.Except(rows).Order());
        Assert.Empty(rows.Except(routes).Order());
    }

    [Fact]
    public void Every_role_gets_the_expected_status_on_every_management_endpoint()
    {
        var width = AuthorizationMatrix.Rows.Max(r => r.Route.Length) + 2;
        var report = new StringBuilder();
        report.AppendLine("endpoint".PadRight(width) + string.Concat(AuthorizationMatrix.RoleNames.Select(n => n.PadLeft(9))));
        var mismatches = new List<string>();
        for (var i = 0; i < AuthorizationMatrix.Rows.Length; i++)
        {
            var row = AuthorizationMatrix.Rows[i];
            var expected = row.ExpectedByRole;
            report.Append(row.Route.PadRight(width));
            foreach (var role in AuthorizationMatrix.Roles)
            {
                var actual = matrix.Answers[i][(int)role].Status;
                var cell = actual == expected[(int)role] ? $"{actual}" : $"{actual}≠{expected[(int)role]}";
                report.Append(cell.PadLeft(9));
                if (actual != expected[(int)role])
                    mismatches.Add($"{row.Route} as {AuthorizationMatrix.RoleNames[(int)role]}: expected {expected[(int)role]}, got {actual}: {matrix.Answers[i][(int)role].Body}");
            }
            report.AppendLine();
        }
        var cells = AuthorizationMatrix.Rows.Length * AuthorizationMatrix.Roles.Length;
        report.AppendLine($"{AuthorizationMatrix.Rows.Length} endpoints × {AuthorizationMatrix.Roles.Length} roles = {cells} calls; " +
                          $"{cells - mismatches.Count} as expected, {mismatches.Count} not (shown as actual≠expected)");
        output.WriteLine(report.ToString());
        Assert.Empty(mismatches);
    }

    [Fact]
    public void Every_refusal_is_a_json_error_with_a_code_and_a_message()
    {
        var bad = new List<string>();
        for (var i = 0; i < AuthorizationMatrix.Rows.Length; i++)
            foreach (var role in AuthorizationMatrix.Roles)
            {
                var answer = matrix.Answers[i][(int)role];
                if (answer.Status < 400) continue;
                var body = answer.ContentType == "application/json" ? JsonNode.Parse(answer.Body) as JsonObject : null;
                if (body?["error"]?.GetValue<string>() is not { Length: > 0 } || body["message"]?.GetValue<string>() is not { Length: > 0 })
                    bad.Add($"{AuthorizationMatrix.Rows[i].Route} as {AuthorizationMatrix.RoleNames[(int)role]}: {answer.Status} {answer.Body}");
            }
        Assert.Empty(bad);
    }

    [Fact]
    public void No_answer_shows_another_owners_data()
    {
        var w = matrix.Setup;
        var leaks = new List<string>();
        for (var i = 0; i < AuthorizationMatrix.Rows.Length; i++)
            foreach (var role in AuthorizationMatrix.Roles)
            {
                // Whose data this caller must never see: the other side's for the owner's keys, and the reverse.
                AuthorizationMatrix.Side[] foreign = role switch
                {
                    AuthorizationMatrix.Role.Admin => [],
                    AuthorizationMatrix.Role.Advertiser or AuthorizationMatrix.Role.Publisher => [w.Other],
                    AuthorizationMatrix.Role.OtherAdvertiser or AuthorizationMatrix.Role.OtherPublisher => [w.Owner],
                    _ => [w.Owner, w.Other],
                };
                var answer = matrix.Answers[i][(int)role];
                var where = $"{AuthorizationMatrix.Rows[i].Route} as {AuthorizationMatrix.RoleNames[(int)role]}";
                foreach (var side in foreign)
                {
                    leaks.AddRange(side.Strings.Where(s => answer.Body.Contains(s, StringComparison.OrdinalIgnoreCase)).Select(s => $"{where}: shows '{s}'"));
                    if (answer.ContentType == "application/json")
                        leaks.AddRange(ForeignIds(JsonNode.Parse(answer.Body), side).Select(f => $"{where}: shows {f}"));
                }
            }
        Assert.Empty(leaks);

        // The markers are live: they do show where they may, so their absence above means something.
        bool Shows(AuthorizationMatrix.Role role, string marker) => matrix.Answers.Any(a => a[(int)role].Body.Contains(marker));
        Assert.True(Shows(AuthorizationMatrix.Role.Admin, w.Owner.Marker) && Shows(AuthorizationMatrix.Role.Admin, w.Other.Marker));
        Assert.True(Shows(AuthorizationMatrix.Role.Advertiser, w.Owner.ConversionA) && Shows(AuthorizationMatrix.Role.Publisher, w.Owner.Marker));
        Assert.True(Shows(AuthorizationMatrix.Role.OtherPublisher, w.Other.Marker));
    }

    // Ids are numbers that other records share, so they count only under the field that names them.
    private static IEnumerable<string> ForeignIds(JsonNode? node, AuthorizationMatrix.Side side)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, value) in o)
                {
                    var id = value is JsonValue v && v.TryGetValue<long>(out var n) ? n : (long?)null;
                    if ((name == "advertiser_id" && id == side.AdvertiserId) || (name is "publisher_id" or "aff_id" && id == side.PublisherId)
                        || (name == "offer_id" && id == side.OfferId))
                        yield return $"{name} {id}";
                    foreach (var f in ForeignIds(value, side)) yield return f;
                }
                break;
            case JsonArray a:
                foreach (var item in a)
                    foreach (var f in ForeignIds(item, side)) yield return f;
                break;
        }
    }
}
