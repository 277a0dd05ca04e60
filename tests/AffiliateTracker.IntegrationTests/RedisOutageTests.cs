using Dapper;
using Microsoft.AspNetCore.Hosting;

namespace AffiliateTracker.IntegrationTests;

/// A tracker whose Redis is unreachable (nothing listens on port 1), as during a Redis outage.
public sealed class RedisDownApp : TrackerApp
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("ConnectionStrings:Redis", "127.0.0.1:1,connectTimeout=200");
        // Redirects answer after this wait; their clicks stay in the process's buffer.
        builder.UseSetting("Clicks:RecordTimeout", "00:00:00.100");
    }
}

public sealed class RedisOutageTests
{
    // Regression (tests/fault, scenario sigterm-while-redis-down): a server stopped while Redis was down
    // dropped every buffered click, though each had been answered 302.
    [Fact]
    public async Task Clicks_answered_while_redis_is_down_reach_postgresql_when_the_server_stops()
    {
        TrackerApp.Network n;
        await using (var setup = new TrackerApp()) n = await setup.CreateNetworkAsync();

        var down = new RedisDownApp();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var redirect = await down.ClickAsync($"/c/{n.LinkCode}?sub1=outage{i}", $"Mozilla/5.0 outage-{i}");
            Assert.Equal(302, (int)redirect.StatusCode);
            ids.Add(TrackerApp.ClickIdOf(redirect));
        }
        await using (var conn = await TrackerApp.DbAsync())
            Assert.Equal(0, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM clicks WHERE click_id = ANY(@ids)", new { ids = ids.ToArray() }));

        // A graceful stop (a deploy, a scale-in) while Redis is still down.
        await down.DisposeAsync();

        await using var db = await TrackerApp.DbAsync();
        var rows = (await db.QueryAsync<ClickRow>("SELECT * FROM clicks WHERE click_id = ANY(@ids)", new { ids = ids.ToArray() })).ToList();
        Assert.Equal(ids.Order(), rows.Select(r => r.ClickId).Order());
        Assert.All(rows, r => Assert.False(r.IsUnique));
        Assert.Equal(["outage0", "outage1", "outage2"], rows.Select(r => r.Sub1!).Order());
    }
}
