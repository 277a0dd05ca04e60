using System.Diagnostics;
using AffiliateTracker.Clicks;
using AffiliateTracker.Storage;
using Npgsql;
using StackExchange.Redis;

namespace AffiliateTracker.Health;

/// GET /health: Redis and PostgreSQL reachability with latency, the read replica's lag, and how far the click and
/// conversion flushes lag. 200 when both stores answer, 503 otherwise: for people and monitoring, not for load
/// balancers (redirects work without the stores, so an outage must not take every instance out at once).
/// GET /health/live: the process answers ("restart me" when it does not). GET /health/ready: 200 while the
/// instance takes traffic, 503 from the moment it starts stopping ("send me no traffic").
public static class HealthEndpoints
{
    public static IServiceCollection AddHealth(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<HealthOptions>(config.GetSection("Health"));
        services.AddWorker<Readiness>();
        return services;
    }

    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", async (ConnectionMultiplexer redis, NpgsqlDataSource db, ReportDatabase reads, RedisKeys keys, ClickRecorder recorder,
            TimeProvider time) =>
        {
            var report = await ReadAsync(redis, db, reads, keys, recorder, time);
            return Results.Json(report, statusCode: report.Status == "healthy" ? 200 : 503);
        }).WithTags("Health");
        app.MapGet("/health/live", () => Results.Json(new { status = "alive" })).WithTags("Health");
        app.MapGet("/health/ready", (Readiness readiness) => readiness.Ready
            ? Results.Json(new { status = "ready" })
            : Results.Json(new { status = "draining" }, statusCode: 503)).WithTags("Health");
    }

    public sealed record StoreCheck(bool Ok, double LatencyMs, string? Error);
    public sealed record ReplicaCheck(bool Ok, double LagSeconds, long LagBytes, string? Error);
    public sealed record ClickFlush(long BacklogBatches, double LagSeconds, long BufferedLocally);
    public sealed record ConversionFlush(long BacklogEvents, double LagSeconds);
    public sealed record HealthReport(string Status, StoreCheck Redis, StoreCheck Postgres, ReplicaCheck? PostgresReplica, ClickFlush ClickFlush, ConversionFlush ConversionFlush);

    /// What /health answers, and what the admin console's overview shows.
    public static async Task<HealthReport> ReadAsync(ConnectionMultiplexer redis, NpgsqlDataSource db, ReportDatabase reads, RedisKeys keys, ClickRecorder recorder, TimeProvider time)
    {
        var redisCheck = await Check(async () => await redis.GetDatabase().PingAsync());
        var pgCheck = await Check(async () =>
        {
            await using var cmd = db.CreateCommand("SELECT 1");
            await cmd.ExecuteScalarAsync();
        });
        var clicks = new StreamBacklog(0, null);
        var conversions = new StreamBacklog(0, null);
        if (redisCheck.Ok)
        {
            var streams = redis.GetDatabase();
            clicks = await BacklogAsync(streams, Enumerable.Range(0, keys.ClickShards).Select(keys.ClickStream));
            conversions = await BacklogAsync(streams, Enumerable.Range(0, keys.ConversionShards).Select(keys.ConversionStream));
        }
        var now = time.GetUtcNow();
        // The replica serves only reports: behind or down, it degrades them, not the tracking, so it does not
        // change the status.
        ReplicaCheck? replica = null;
        if (reads.IsReplica)
        {
            try
            {
                var lag = await reads.LagAsync().WaitAsync(TimeSpan.FromSeconds(2));
                replica = new ReplicaCheck(true, lag!.Seconds, lag.Bytes, null);
            }
            catch (Exception e) { replica = new ReplicaCheck(false, 0, 0, e.GetType().Name); }
        }
        // Backlogs are read from Redis, so every instance reports them, including one whose own flushers are off.
        return new HealthReport(redisCheck.Ok && pgCheck.Ok ? "healthy" : "degraded", redisCheck, pgCheck, replica,
            new ClickFlush(clicks.Entries, clicks.LagSeconds(now), recorder.Buffered),
            new ConversionFlush(conversions.Entries, conversions.LagSeconds(now)));
    }

    /// Entries waiting in a set of streams (one per shard) and when the oldest of them was appended.
    private sealed record StreamBacklog(long Entries, DateTimeOffset? Oldest)
    {
        public double LagSeconds(DateTimeOffset now) => Oldest is { } o ? Math.Max(0, (now - o).TotalSeconds) : 0;
    }

    private static async Task<StreamBacklog> BacklogAsync(IDatabase db, IEnumerable<string> streams)
    {
        long entries = 0;
        DateTimeOffset? oldest = null;
        foreach (var stream in streams)
        {
            var (length, first) = await db.BacklogAsync(stream);
            entries += length;
            if (first is { } f && (oldest is null || f < oldest)) oldest = f;
        }
        return new StreamBacklog(entries, oldest);
    }

    private static async Task<StoreCheck> Check(Func<Task> probe)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            await probe().WaitAsync(TimeSpan.FromSeconds(2));
            return new StoreCheck(true, Math.Round(sw.Elapsed.TotalMilliseconds, 2), null);
        }
        catch (Exception e)
        {
            // The exception type says what failed; its message may carry connection details, so it is not shown.
            return new StoreCheck(false, Math.Round(sw.Elapsed.TotalMilliseconds, 2), e.GetType().Name);
        }
    }
}
