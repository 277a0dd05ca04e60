using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Hosting;

namespace AffiliateTracker.IntegrationTests;

/// A tracker whose reports read from PostgreSQL's streaming replica (deploy/services.sh replica, which
/// deploy/test.sh starts and names in AT_PG_REPLICA).
public sealed class ReplicaReportsApp : TrackerApp
{
    public static string ReplicaConnection => Environment.GetEnvironmentVariable("AT_PG_REPLICA") is { Length: > 0 } replica ? replica
        : throw new InvalidOperationException("AT_PG_REPLICA is not set: run the tests with deploy/test.sh, which starts the replica");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("ConnectionStrings:PostgresReadOnly", ReplicaConnection);
    }
}

/// A tracker whose reporting replica cannot be reached (nothing listens on port 1).
public sealed class UnreachableReplicaApp : TrackerApp
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("ConnectionStrings:PostgresReadOnly", "Host=127.0.0.1;Port=1;Username=affiliatetracker;Database=affiliatetracker_test;Timeout=1");
    }
}

public sealed class ReadReplicaTests : IAsyncLifetime
{
    private readonly ReplicaReportsApp app = new();
    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await app.DisposeAsync();

    [Fact]
    public async Task Reports_read_from_the_replica_catch_up_with_flushed_clicks_and_health_reports_its_lag()
    {
        var n = await app.CreateNetworkAsync();
        string last = "";
        for (var i = 0; i < 3; i++) last = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}?sub1=replica"));
        await TrackerApp.WaitForClickRowAsync(last);

        var publisher = app.WithKey(await app.IssueKeyAsync("publisher", publisherId: n.PublisherId));
        long clicks = 0;
        for (var i = 0; i < 100 && clicks < 3; i++)
        {
            var report = (await publisher.GetFromJsonAsync<JsonArray>("/api/v1/reports?group_by=offer"))!;
            clicks = report.Sum(r => r!["clicks"]!.GetValue<long>());
            if (clicks < 3) await Task.Delay(100);
        }
        Assert.Equal(3, clicks);

        var health = (await app.Browser().GetFromJsonAsync<JsonObject>("/health"))!;
        var replica = health["postgres_replica"]!;
        Assert.True(replica["ok"]!.GetValue<bool>());
        Assert.True(replica["lag_bytes"]!.GetValue<long>() >= 0);
        Assert.True(replica["lag_seconds"]!.GetValue<double>() >= 0);
    }

    [Fact]
    public async Task Money_is_written_to_the_primary_while_reports_read_from_the_replica()
    {
        var n = await app.CreateNetworkAsync();
        var click = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}"));
        var token = await app.PostbackTokenAsync(n.AdvertiserId);
        var created = await app.Browser().GetAsync($"/postback?click_id={click}&txid=replica-1&amount=30.00&token={token}");
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["conversion_id"]!.GetValue<string>();
        await TrackerApp.WaitForRowCountAsync("SELECT count(*) FROM conversions WHERE id = @id", new { id }, 1);

        // An admin's decision is a money write: it must reach the primary (the replica refuses writes).
        var admin = await app.AdminAsync();
        var approve = await admin.PostAsJsonAsync($"/api/v1/conversions/{id}/status", new { status = "approved", reason = "checked" });
        Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        await using var primary = await TrackerApp.DbAsync();
        Assert.Equal("approved", await primary.ExecuteScalarAsync<string>("SELECT status FROM conversions WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task Reports_fall_back_to_the_primary_while_the_replica_is_unreachable()
    {
        await using var cut = new UnreachableReplicaApp();
        var n = await cut.CreateNetworkAsync();
        var click = TrackerApp.ClickIdOf(await cut.ClickAsync($"/c/{n.LinkCode}"));
        await TrackerApp.WaitForClickRowAsync(click);

        var publisher = cut.WithKey(await cut.IssueKeyAsync("publisher", publisherId: n.PublisherId));
        var report = await publisher.GetAsync("/api/v1/reports?group_by=offer");
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.Equal(1, (await report.Content.ReadFromJsonAsync<JsonArray>())!.Sum(r => r!["clicks"]!.GetValue<long>()));

        var health = (await cut.Browser().GetFromJsonAsync<JsonObject>("/health"))!;
        Assert.False(health["postgres_replica"]!["ok"]!.GetValue<bool>());
        Assert.Equal("healthy", health["status"]!.GetValue<string>());
    }
}
