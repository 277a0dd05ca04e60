using System.Net;
using System.Net.Http.Json;

namespace AffiliateTracker.IntegrationTests;

/// Two server instances against one Redis and one PostgreSQL, as behind a load balancer.
public sealed class MultiInstanceTests : IAsyncLifetime
{
    private readonly TrackerApp _a = new();
    private readonly TrackerApp _b = new();

    public Task InitializeAsync()
    {
        _ = _a.Server;
        _ = _b.Server;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    [Fact]
    public async Task A_configuration_change_on_one_instance_reaches_the_other_without_a_restart()
    {
        var n = await _a.CreateNetworkAsync(fallbackUrl: "https://fallback.example/");
        var onB = await WaitForAsync(() => _b.ClickAsync($"/c/{n.LinkCode}"), r => r.StatusCode == HttpStatusCode.Found);
        Assert.StartsWith("https://shop.example/", onB.Headers.Location!.OriginalString);

        var admin = await _a.AdminAsync();
        await admin.PatchAsJsonAsync($"/api/v1/offers/{n.OfferId}", new { status = "paused" });

        var paused = await WaitForAsync(() => _b.ClickAsync($"/c/{n.LinkCode}"),
            r => r.Headers.Location?.OriginalString == "https://fallback.example/");
        Assert.Equal("https://fallback.example/", paused.Headers.Location!.OriginalString);
    }

    // Pub/sub is asynchronous: poll (bounded) for the outcome.
    private static async Task<HttpResponseMessage> WaitForAsync(Func<Task<HttpResponseMessage>> call, Func<HttpResponseMessage, bool> done)
    {
        HttpResponseMessage response = null!;
        for (var i = 0; i < 100; i++)
        {
            response = await call();
            if (done(response)) return response;
            await Task.Delay(50);
        }
        return response;
    }
}
