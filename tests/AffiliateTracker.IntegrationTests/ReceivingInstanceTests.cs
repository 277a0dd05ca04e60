using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Hosting;

namespace AffiliateTracker.IntegrationTests;

/// One instance of a deployment that shares its Redis keys with others; with its flushers off it only
/// receives traffic, with them on it can be the deployment's flush instance.
public sealed class DeploymentInstance(string keyPrefix, bool flushers, params (string Key, string Value)[] settings) : TrackerApp
{
    protected override string KeyPrefix => keyPrefix;
    protected override bool FlusherEnabled => flushers;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Conversions:FlusherEnabled", flushers.ToString());
        builder.UseSetting("Conversions:FlushIdleDelay", "00:00:00.050");
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
    }
}

/// Receiving instances (flushers off) behind the load balancer, a flush instance elsewhere: clicks and
/// conversions wait in Redis, visible in /health, until the flush instance writes them to PostgreSQL.
public sealed class ReceivingInstanceTests
{
    [Fact]
    public async Task A_receiving_instance_keeps_clicks_and_conversions_in_redis_until_a_flush_instance_writes_them()
    {
        var prefix = $"rx{Guid.NewGuid():N}:";
        await using var receiving = new DeploymentInstance(prefix, flushers: false);
        var n = await receiving.CreateNetworkAsync();
        var click = TrackerApp.ClickIdOf(await receiving.ClickAsync($"/c/{n.LinkCode}?sub1=split"));
        var token = await receiving.PostbackTokenAsync(n.AdvertiserId);
        var postback = await receiving.Browser().GetAsync($"/postback?click_id={click}&txid=split-1&amount=40.00&token={token}");
        Assert.Equal(HttpStatusCode.OK, postback.StatusCode);
        var conversion = (await postback.Content.ReadFromJsonAsync<JsonObject>())!["conversion_id"]!.GetValue<string>();

        // Time for a flusher to have run many passes (tests flush every 50 ms when idle): none did.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(0, await RowsAsync(click, conversion));
        var waiting = await HealthAsync(receiving);
        Assert.Equal(1, waiting["click_flush"]!["backlog_batches"]!.GetValue<long>());
        Assert.Equal(1, waiting["conversion_flush"]!["backlog_events"]!.GetValue<long>());
        Assert.True(waiting["click_flush"]!["lag_seconds"]!.GetValue<double>() >= 1);
        Assert.True(waiting["conversion_flush"]!["lag_seconds"]!.GetValue<double>() >= 1);

        await using var flushing = new DeploymentInstance(prefix, flushers: true);
        _ = flushing.Server;
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (DateTime.UtcNow < deadline && await RowsAsync(click, conversion) < 2) await Task.Delay(50);
        Assert.Equal(2, await RowsAsync(click, conversion));
        await using (var conn = await TrackerApp.DbAsync())
        {
            var row = await conn.QuerySingleAsync<(long PublisherId, decimal Amount)>(
                "SELECT publisher_id, amount FROM conversions WHERE id = @conversion", new { conversion });
            Assert.Equal((n.PublisherId, 40.00m), row);
        }
        // The entries are acknowledged just after the commit that made the rows visible.
        var drained = await HealthAsync(receiving);
        while (DateTime.UtcNow < deadline && (drained["click_flush"]!["backlog_batches"]!.GetValue<long>() > 0 || drained["conversion_flush"]!["backlog_events"]!.GetValue<long>() > 0))
        {
            await Task.Delay(50);
            drained = await HealthAsync(receiving);
        }
        Assert.Equal(0, drained["click_flush"]!["backlog_batches"]!.GetValue<long>());
        Assert.Equal(0, drained["conversion_flush"]!["backlog_events"]!.GetValue<long>());
        Assert.Equal(0, drained["conversion_flush"]!["lag_seconds"]!.GetValue<double>());
    }

    [Fact]
    public async Task During_a_rolling_upgrade_a_server_writing_json_leaves_what_older_servers_read_and_this_version_flushes_it()
    {
        var prefix = $"rx{Guid.NewGuid():N}:";
        await using var receiving = new DeploymentInstance(prefix, flushers: false, ("Conversions:BinaryStreams", "false"));
        var n = await receiving.CreateNetworkAsync();
        var click = TrackerApp.ClickIdOf(await receiving.ClickAsync($"/c/{n.LinkCode}"));
        var token = await receiving.PostbackTokenAsync(n.AdvertiserId);
        var postback = await receiving.Browser().GetAsync($"/postback?click_id={click}&txid=upgrade-1&amount=25.00&token={token}");
        var conversion = (await postback.Content.ReadFromJsonAsync<JsonObject>())!["conversion_id"]!.GetValue<string>();
        // The conversion is the created postback's log entry; the repeat is logged on its own.
        await receiving.Browser().GetAsync($"/postback?click_id={click}&txid=upgrade-1&amount=25.00&token={token}");

        // What a server from before the binary forms reads: the conversion as a JSON object, the log as a JSON array.
        var keys = receiving.Service<AffiliateTracker.Storage.RedisKeys>();
        var events = await receiving.Redis.StreamRangeAsync(keys.ConversionStream(0));
        var created = JsonNode.Parse((byte[])events.Single().Values.Single(v => v.Name == "d").Value!)!;
        Assert.Equal(conversion, created["id"]!.GetValue<string>());
        StackExchange.Redis.StreamEntry[] logged = [];
        for (var i = 0; i < 100 && logged.Length == 0; i++, await Task.Delay(20))
            logged = await receiving.Redis.StreamRangeAsync(keys.PostbackLogStream);
        var entries = JsonNode.Parse((byte[])logged.Single().Values.Single(v => v.Name == "d").Value!)!.AsArray();
        Assert.Equal("upgrade-1", entries.Single()!["txid"]!.GetValue<string>());
        Assert.Equal("duplicate", entries.Single()!["decision"]!.GetValue<string>());

        await using var flushing = new DeploymentInstance(prefix, flushers: true);
        _ = flushing.Server;
        await using var conn = await TrackerApp.DbAsync();
        // Two flushers, each in its own time: both rows.
        for (var i = 0; i < 200 && await conn.ExecuteScalarAsync<long>(
                 "SELECT (SELECT count(*) FROM postback_log WHERE conversion_id = @conversion) * (SELECT count(*) FROM conversions WHERE id = @conversion)",
                 new { conversion }) == 0; i++)
            await Task.Delay(50);
        Assert.Equal(25.00m, await conn.ExecuteScalarAsync<decimal>("SELECT amount FROM conversions WHERE id = @conversion", new { conversion }));
        Assert.Equal(["created", "duplicate"], await conn.QueryAsync<string>(
            "SELECT decision FROM postback_log_entries WHERE conversion_id = @conversion AND txid = 'upgrade-1' ORDER BY received_at", new { conversion }));
    }

    // The click's row plus the conversion's row: 0, 1 or 2.
    private static async Task<long> RowsAsync(string click, string conversion)
    {
        await using var conn = await TrackerApp.DbAsync();
        return await conn.ExecuteScalarAsync<long>(
            "SELECT (SELECT count(*) FROM clicks WHERE click_id = @click) + (SELECT count(*) FROM conversions WHERE id = @conversion)",
            new { click, conversion });
    }

    private static async Task<JsonObject> HealthAsync(TrackerApp app) =>
        (await (await app.Browser().GetAsync("/health")).Content.ReadFromJsonAsync<JsonObject>())!;
}
