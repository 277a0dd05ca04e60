using AffiliateTracker.Clicks;
using AffiliateTracker.Demo;
using AffiliateTracker.Network;
using AffiliateTracker.Storage;
using Npgsql;

namespace AffiliateTracker;

public static class Startup
{
    /// Before the server takes traffic: migrate, create this month's and next month's click partitions,
    /// load the network configuration, seed the demo network when asked.
    public static async Task PrepareAsync(this WebApplication app)
    {
        await app.Services.GetRequiredService<MigrationRunner>().ApplyAsync();
        var db = app.Services.GetRequiredService<NpgsqlDataSource>();
        await using (var conn = await db.OpenConnectionAsync())
        {
            var now = DateTime.UtcNow;
            var month = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc);
            for (var i = -1; i <= 2; i++) await ClickStore.EnsurePartitionAsync(conn, month.AddMonths(i), CancellationToken.None);
        }
        await app.Services.GetRequiredService<NetworkCache>().ReloadAsync();
        if (app.Services.DemoEnabled()) await app.Services.GetRequiredService<DemoSeeder>().SeedAsync();
    }
}
