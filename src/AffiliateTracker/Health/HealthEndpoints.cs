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
            var healthy = redisCheck.Ok && pgCheck.Ok;
            var body = new
            {
                status = healthy ? "healthy" : "degraded",
                redis = redisCheck,
                postgres = pgCheck,
                // Read from Redis, so every instance reports it, including one whose own flushers are off.
                click_flush = new
                {
                    backlog_batches = clicks.Entries,
                    lag_seconds = clicks.LagSeconds(now),
                    buffered_locally = recorder.Buffered,
                },
                conversion_flush = new
                {
                    backlog_events = conversions.Entries,
                    lag_seconds = conversions.LagSeconds(now),
                },
            };
            return Results.Json(body, statusCode: healthy ? 200 : 503);
        }).WithTags("Health");
    }

    public sealed record StoreCheck(bool Ok, double LatencyMs, string? Error);

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
