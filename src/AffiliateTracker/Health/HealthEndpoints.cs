using System.Diagnostics;
using AffiliateTracker.Clicks;
using AffiliateTracker.Storage;
using Npgsql;
using StackExchange.Redis;

namespace AffiliateTracker.Health;

/// GET /health: Redis and PostgreSQL reachability with latency, and how far the click and conversion flushes lag.
/// 200 when both stores answer, 503 otherwise (a load balancer may still keep the instance: redirects
/// work without the stores).
public static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", async (ConnectionMultiplexer redis, NpgsqlDataSource db, RedisKeys keys, ClickRecorder recorder,
            TimeProvider time) =>
        {
            var report = await ReadAsync(redis, db, keys, recorder, time);
            return Results.Json(report, statusCode: report.Status == "healthy" ? 200 : 503);
        }).WithTags("Health");
    }

    public sealed record StoreCheck(bool Ok, double LatencyMs, string? Error);
    public sealed record ClickFlush(long BacklogBatches, double LagSeconds, long BufferedLocally);
    public sealed record ConversionFlush(long BacklogEvents, double LagSeconds);
    public sealed record HealthReport(string Status, StoreCheck Redis, StoreCheck Postgres, ClickFlush ClickFlush, ConversionFlush ConversionFlush);

    /// What /health answers, and what the admin console's overview shows.
    public static async Task<HealthReport> ReadAsync(ConnectionMultiplexer redis, NpgsqlDataSource db, RedisKeys keys, ClickRecorder recorder, TimeProvider time)
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
        // Backlogs are read from Redis, so every instance reports them, including one whose own flushers are off.
        return new HealthReport(redisCheck.Ok && pgCheck.Ok ? "healthy" : "degraded", redisCheck, pgCheck,
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
