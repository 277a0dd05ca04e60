using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AffiliateTracker.Access;
using AffiliateTracker.Clicks;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StackExchange.Redis;

namespace AffiliateTracker.IntegrationTests;

/// The real server in-process, against the real Redis and PostgreSQL that deploy/test.sh starts.
/// Each test creates its own advertiser, offers, publishers and links, so classes run in parallel.
public class TrackerApp : WebApplicationFactory<Program>
{
    public static string RedisConnection =>
        Environment.GetEnvironmentVariable("ConnectionStrings__Redis") ?? "127.0.0.1:16379";
    public static string PostgresConnection =>
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")
        ?? "Host=127.0.0.1;Port=15432;Username=affiliatetracker;Database=affiliatetracker_test";

    static TrackerApp() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    private string? _adminKey;

    /// Redis key prefix: shared by default (like instances of one deployment); a test that inspects
    /// the stream itself uses its own.
    protected virtual string KeyPrefix => "test:";
    protected virtual bool FlusherEnabled => true;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:Redis", RedisConnection);
        builder.UseSetting("ConnectionStrings:Postgres", PostgresConnection);
        builder.UseSetting("Redis:KeyPrefix", KeyPrefix);
        builder.UseSetting("Clicks:FlusherEnabled", FlusherEnabled.ToString());
        builder.UseSetting("Clicks:FlushIdleDelay", "00:00:00.050");
        builder.UseSetting("Clicks:RecordTimeout", "00:00:05");
        // Test apps start and stop all the time; take over a stopped one's entries quickly.
        builder.UseSetting("Clicks:ReclaimAfter", "00:00:03");
        builder.UseSetting("Conversions:ReclaimAfter", "00:00:03");
        builder.UseSetting("Demo:Enabled", "false");
        // Each server in this process exports its own meter (TrackerMetrics.MeterName).
        builder.UseSetting("Observability:MeterName", $"AffiliateTracker.test.{Guid.NewGuid():N}");
        // Where tracking links point; the test clients use this host too.
        builder.UseSetting("PublicBaseUrl", "http://tracker.test");
        builder.UseSetting("Secrets:MasterKey", Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes("integration-tests-master-key-0123456789")));
        // Only the conversion test apps deliver publisher postbacks (to a receiver on loopback).
        builder.UseSetting("PublisherPostbacks:Enabled", "false");
        // The product feed tests serve their feeds from loopback.
        builder.UseSetting("ProductFeeds:AllowPrivateAddresses", "true");
        builder.UseSetting("ProductFeeds:FetchInterval", "00:00:02");
        // Tests fire many requests from one (absent) address with a few keys; RateLimitTests sets low limits.
        builder.UseSetting("RateLimits:ManagementPerKeyPerMinute", "1000000");
        builder.UseSetting("RateLimits:ManagementPerIpPerMinute", "1000000");
        builder.UseSetting("RateLimits:PostbackPerIpPerSecond", "1000000");
        builder.ConfigureServices(s => s.AddSingleton<IStartupFilter, RemoteAddressFromTestHeader>());
    }

    /// TestServer requests come from no address; a test names one with this header, set as the connection's
    /// remote address before the app's own middleware runs.
    public const string RemoteIpHeader = "X-Test-Remote-Ip";

    private sealed class RemoteAddressFromTestHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, nextMiddleware) =>
            {
                if (IPAddress.TryParse(http.Request.Headers[RemoteIpHeader].ToString(), out var ip)) http.Connection.RemoteIpAddress = ip;
                return nextMiddleware(http);
            });
            next(app);
        };
    }

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    /// A client that shows redirects and cookies as they are, instead of following and storing them.
    public HttpClient Browser(string baseAddress = "http://tracker.test") =>
        CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false, BaseAddress = new Uri(baseAddress) });

    /// The advertiser's postback token, issued fresh through the API.
    public async Task<string> PostbackTokenAsync(long advertiserId)
    {
        var admin = await AdminAsync();
        var r = await admin.PostAsync($"/api/v1/advertisers/{advertiserId}/postback-token", null);
        return (await r.Content.ReadFromJsonAsync<JsonObject>())!["postback_token"]!.GetValue<string>();
    }

    /// The advertiser's HMAC signing key (postbacks and signed pixels), issued fresh through the API.
    public async Task<string> SigningKeyAsync(long advertiserId)
    {
        var r = await (await AdminAsync()).PostAsync($"/api/v1/advertisers/{advertiserId}/signing-key", null);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return (await r.Content.ReadFromJsonAsync<JsonObject>())!["signing_key"]!.GetValue<string>();
    }

    public async Task<HttpClient> AdminAsync()
    {
        if (_adminKey is null)
        {
            await using var conn = await Service<NpgsqlDataSource>().OpenConnectionAsync();
            _adminKey = (await ApiKeys.IssueAsync(conn, "admin", null, null, "integration tests")).Secret;
        }
        return WithKey(_adminKey);
    }

    public HttpClient WithKey(string? key)
    {
        var client = Browser();
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    // ---- building a network through the API, as an admin would ----

    public async Task<long> CreateAdvertiserAsync(string name = "Advertiser")
    {
        var admin = await AdminAsync();
        return (await Created(admin.PostAsJsonAsync("/api/v1/advertisers", new { name = $"{name} {Guid.NewGuid():N}" })))["id"]!.GetValue<long>();
    }

    public async Task<long> CreatePublisherAsync(string name = "Publisher")
    {
        var admin = await AdminAsync();
        return (await Created(admin.PostAsJsonAsync("/api/v1/publishers", new { name = $"{name} {Guid.NewGuid():N}" })))["id"]!.GetValue<long>();
    }

    public async Task<long> CreateOfferAsync(long advertiserId, string landingUrl = "https://shop.example/land?cid={click_id}&s1={sub1}",
        string? fallbackUrl = null, object? extra = null)
    {
        var admin = await AdminAsync();
        var body = JsonSerializer.SerializeToNode(new
        {
            advertiser_id = advertiserId,
            name = $"Offer {Guid.NewGuid():N}",
            landing_url = landingUrl,
            fallback_url = fallbackUrl,
            goals = new[] { new { code = "sale", name = "Sale", payout_type = "fixed", payout = 5.00m, revenue_type = "fixed", revenue = 8.00m } },
        })!.AsObject();
        if (extra is not null)
            foreach (var (k, v) in JsonSerializer.SerializeToNode(extra)!.AsObject()) body[k] = v?.DeepClone();
        return (await Created(admin.PostAsJsonAsync("/api/v1/offers", body)))["id"]!.GetValue<long>();
    }

    public async Task GrantAsync(long offerId, long publisherId)
    {
        var admin = await AdminAsync();
        var response = await admin.PutAsJsonAsync($"/api/v1/offers/{offerId}/publishers/{publisherId}", new { });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public async Task<string> CreateLinkAsync(long offerId, long publisherId)
    {
        var admin = await AdminAsync();
        return (await Created(admin.PostAsJsonAsync("/api/v1/links", new { offer_id = offerId, publisher_id = publisherId })))["code"]!.GetValue<string>();
    }

    /// A fresh advertiser, offer, publisher with access, and link.
    public async Task<Network> CreateNetworkAsync(string landingUrl = "https://shop.example/land?cid={click_id}&s1={sub1}", string? fallbackUrl = null, object? offerExtra = null)
    {
        var advertiser = await CreateAdvertiserAsync();
        var offer = await CreateOfferAsync(advertiser, landingUrl, fallbackUrl, offerExtra);
        var publisher = await CreatePublisherAsync();
        await GrantAsync(offer, publisher);
        return new Network(advertiser, offer, publisher, await CreateLinkAsync(offer, publisher));
    }

    public sealed record Network(long AdvertiserId, long OfferId, long PublisherId, string LinkCode);

    public async Task<string> IssueKeyAsync(string role, long? advertiserId = null, long? publisherId = null)
    {
        var admin = await AdminAsync();
        return (await Created(admin.PostAsJsonAsync("/api/v1/api-keys", new { role, advertiser_id = advertiserId, publisher_id = publisherId })))["key"]!.GetValue<string>();
    }

    // ---- clicking and reading what was recorded ----

    public async Task<HttpResponseMessage> ClickAsync(string pathAndQuery, string userAgent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0", string baseAddress = "http://tracker.test")
    {
        var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        return await Browser(baseAddress).SendAsync(request);
    }

    public static string ClickIdOf(HttpResponseMessage redirect)
    {
        var cookie = redirect.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(ClickEndpoints.CookiePrefix));
        return cookie[(cookie.IndexOf('=') + 1)..cookie.IndexOf(';')];
    }

    public static async Task<NpgsqlConnection> DbAsync()
    {
        var conn = new NpgsqlConnection(PostgresConnection);
        await conn.OpenAsync();
        return conn;
    }

    /// Waits (bounded) for the flusher to write a click; this is a wait for an outcome, not a speed assertion.
    public static async Task<ClickRow> WaitForClickRowAsync(string clickId)
    {
        await using var conn = await DbAsync();
        for (var i = 0; i < 400; i++)
        {
            var row = await conn.QuerySingleOrDefaultAsync<ClickRow>("SELECT * FROM clicks WHERE click_id = @clickId", new { clickId });
            if (row is not null) return row;
            await Task.Delay(50);
        }
        throw new TimeoutException($"Click {clickId} never reached PostgreSQL");
    }

    public static async Task<long> WaitForRowCountAsync(string sql, object args, long expected)
    {
        await using var conn = await DbAsync();
        long count = 0;
        for (var i = 0; i < 600; i++)
        {
            count = await conn.ExecuteScalarAsync<long>(sql, args);
            if (count >= expected) return count;
            await Task.Delay(100);
        }
        return count;
    }

    public IDatabase Redis => Service<ConnectionMultiplexer>().GetDatabase();

    public static async Task<JsonObject> Created(Task<HttpResponseMessage> call)
    {
        var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Expected 201, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}

public sealed class ClickRow
{
    public string ClickId { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public long OfferId { get; init; }
    public long PublisherId { get; init; }
    public long? LinkId { get; init; }
    public string? Sub1 { get; init; }
    public string? Sub2 { get; init; }
    public string? Sub3 { get; init; }
    public string? Sub4 { get; init; }
    public string? Sub5 { get; init; }
    public string? Source { get; init; }
    public string? UserAgent { get; init; }
    public string? Country { get; init; }
    public bool IsUnique { get; init; }
    public bool IsBot { get; init; }
    public string? DeepLink { get; init; }
    public bool DeepLinkRefused { get; init; }
    public long? SmartLinkId { get; init; }
    public short? SmartRule { get; init; }
}
