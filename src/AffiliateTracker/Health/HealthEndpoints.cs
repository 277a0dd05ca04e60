using System.Diagnostics;
using AffiliateTracker.Clicks;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace AffiliateTracker.Health;

/// GET /health: Redis and PostgreSQL reachability with latency, and how far the click flush lags.
/// 200 when both stores answer, 503 otherwise (a load balancer may still keep the instance: redirects
/// work without the stores).
public static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", async (ConnectionMultiplexer redis, NpgsqlDataSource db, RedisKeys keys, ClickRecorder recorder,
            IOptions<ClickOptions> options, TimeProvider time) =>
        {
            var redisCheck = await Check(async () => await redis.GetDatabase().PingAsync());
            var pgCheck = await Check(async () =>
            {
                await using var cmd = db.CreateCommand("SELECT 1");
                await cmd.ExecuteScalarAsync();
            });

            long backlog = 0;
            DateTimeOffset? oldest = null;
            if (redisCheck.Ok)
            {
                for (var shard = 0; shard < keys.ClickShards; shard++)
                {
                    var (length, first) = await redis.GetDatabase().BacklogAsync(keys.ClickStream(shard));
                    backlog += length;
                    if (first is { } f && (oldest is null || f < oldest)) oldest = f;
                }
            }
            var healthy = redisCheck.Ok && pgCheck.Ok;
            var body = new
            {
                status = healthy ? "healthy" : "degraded",
                redis = redisCheck,
                postgres = pgCheck,
                click_flush = new
                {
                    backlog_batches = backlog,
                    lag_seconds = oldest is { } o ? Math.Max(0, (time.GetUtcNow() - o).TotalSeconds) : 0,
                    buffered_locally = recorder.Buffered,
                },
            };
            return Results.Json(body, statusCode: healthy ? 200 : 503);
        }).WithTags("Health");
    }

    public sealed record StoreCheck(bool Ok, double LatencyMs, string? Error);

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
