using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace AffiliateTracker.IntegrationTests;

/// A publisher's server on 127.0.0.1 that fails the first request with a 500, then answers 200.
public sealed class FlakyReceiver : IAsyncDisposable
{
    public const int Port = 21901;
    private readonly WebApplication _app;
    public ConcurrentQueue<(string Query, int Answered)> Requests { get; } = new();

    public FlakyReceiver()
    {
        var builder = WebApplication.CreateSlimBuilder();
        // An explicit listener: the tracker's appsettings.json (copied beside the tests) names other URLs.
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port));
        _app = builder.Build();
        _app.MapGet("/pb", (HttpRequest r) =>
        {
            var status = Requests.Count == 0 ? 500 : 200;
            Requests.Enqueue((r.QueryString.Value ?? "", status));
            return Results.StatusCode(status);
        });
        _app.StartAsync().GetAwaiter().GetResult();
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// The one test app that delivers publisher postbacks (see ConversionApp).
public sealed class PublisherPostbackApp : ConversionApp
{
    protected override bool DeliversPublisherPostbacks => true;
}

public sealed class PublisherPostbackTests(PublisherPostbackApp app) : IClassFixture<PublisherPostbackApp>
{
    [Fact]
    public async Task A_publisher_postback_is_retried_after_a_500_and_delivered_exactly_once()
    {
        await using var receiver = new FlakyReceiver();
        // A year's hold: no other test's clock reaches it, so the only postback is the one for "created".
        var n = await app.CreateNetworkAsync(offerExtra: new { hold_period_hours = 8760 });
        var admin = await app.AdminAsync();
        var url = $"http://127.0.0.1:{FlakyReceiver.Port}/pb?click={{click_id}}&s1={{sub1}}&payout={{payout}}&status={{status}}&goal={{goal}}&txid={{txid}}&cur={{currency}}&offer={{offer_id}}";
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/v1/publishers/{n.PublisherId}", new { postback_url = url })).StatusCode);
        var click = await app.ClickAndWaitAsync(n, "?sub1=a%20b");

        var created = await app.PostbackAsync($"click_id={click}&txid=pp-1&token={await app.PostbackTokenAsync(n.AdvertiserId)}");
        await app.WaitForConversionAsync(created.Body["conversion_id"]!.GetValue<string>());

        // The first attempt fails; the retry is due a second after the sender recorded it. The receiver sees the
        // request before the sender records the attempt, so the clock keeps moving until the retry comes.
        await WaitUntil(() => receiver.Requests.Count >= 1);
        await WaitUntil(() =>
        {
            app.Clock.Advance(TimeSpan.FromMinutes(1));
            return receiver.Requests.Count >= 2;
        });
        app.Clock.Advance(TimeSpan.FromMinutes(10));
        await Task.Delay(500); // a third delivery would have happened by now

        Assert.Equal([500, 200], receiver.Requests.Select(r => r.Answered));
        Assert.Equal($"?click={click}&s1=a%20b&payout=5.00&status=pending&goal=sale&txid=pp-1&cur=USD&offer={n.OfferId}", receiver.Requests.Last().Query);

        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));
        JsonArray log = [];
        await WaitUntil(async () => (log = (await publisher.GetFromJsonAsync<JsonArray>("/api/v1/publisher-postbacks"))!)
            .Any(d => d!["delivery"]!["state"]!.GetValue<string>() == "delivered"));
        var delivery = log.Single()!;
        Assert.Equal(2, delivery["delivery"]!["attempts"]!.GetValue<int>());
        Assert.Equal([500, 200], delivery["attempts"]!.AsArray().Select(a => a!["status_code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Repeated_failures_pause_the_publishers_postbacks_with_the_reason()
    {
        var n = await app.CreateNetworkAsync();
        var admin = await app.AdminAsync();
        // Nothing listens on this port: every attempt fails to connect.
        await admin.PatchAsJsonAsync($"/api/v1/publishers/{n.PublisherId}", new { postback_url = "http://127.0.0.1:21999/dead?c={click_id}" });
        await using (var conn = await TrackerApp.DbAsync())
            await Dapper.SqlMapper.ExecuteAsync(conn, "UPDATE publishers SET postback_failures = 49 WHERE id = @PublisherId", n);
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        await app.PostbackAsync($"click_id={await app.ClickAndWaitAsync(n)}&txid=dead-1&token={token}");

        JsonObject publisher = new();
        await WaitUntil(async () => (publisher = (await admin.GetFromJsonAsync<JsonObject>($"/api/v1/publishers/{n.PublisherId}"))!)["postback_paused_reason"] is not null);
        Assert.Contains("failed deliveries in a row", publisher["postback_paused_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_daily_click_cap_sends_further_traffic_to_the_fallback()
    {
        var n = await app.CreateNetworkAsync(fallbackUrl: "https://fallback.example/capped", offerExtra: new { daily_click_cap = 2 });
        var locations = new List<string>();
        for (var i = 0; i < 3; i++) locations.Add((await app.ClickAsync($"/c/{n.LinkCode}", $"Mozilla/5.0 cap-{i}")).Headers.Location!.OriginalString);
        Assert.All(locations.Take(2), l => Assert.StartsWith("https://shop.example/land", l));
        Assert.Equal("https://fallback.example/capped", locations[2]);
    }

    private static async Task WaitUntil(Func<bool> done) => await WaitUntil(() => Task.FromResult(done()));

    private static async Task WaitUntil(Func<Task<bool>> done)
    {
        for (var i = 0; i < 200; i++)
        {
            if (await done()) return;
            await Task.Delay(50);
        }
        throw new TimeoutException("The expected outcome did not happen");
    }
}
