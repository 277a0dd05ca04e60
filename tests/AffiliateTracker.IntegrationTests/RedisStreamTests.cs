using AffiliateTracker.Storage;
using StackExchange.Redis;

namespace AffiliateTracker.IntegrationTests;

public sealed class RedisStreamTests
{
    // Acknowledge and delete are one script now (tests/fault found entries acknowledged but never deleted after
    // a kill -9 between the two commands). It must still leave nothing behind, also past one script's chunk.
    [Fact]
    public async Task Ack_and_delete_leaves_nothing_pending_and_nothing_in_the_stream()
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(TrackerApp.RedisConnection);
        var db = redis.GetDatabase();
        var stream = $"t{Guid.NewGuid():N}:{{s}}:stream";
        try
        {
            await db.EnsureGroupAsync(stream, RedisKeys.FlusherGroup);
            await Task.WhenAll(Enumerable.Range(0, 4500).Select(i => db.AddAsync(stream, BitConverter.GetBytes(i))));
            var read = await db.ReadGroupAsync(stream, RedisKeys.FlusherGroup, "flusher", 5000);
            Assert.Equal(4500, read.Count);

            await db.AckAndDeleteAsync(stream, RedisKeys.FlusherGroup, read.Select(e => e.Id).ToList());

            Assert.Equal(0, (await db.BacklogAsync(stream)).Length);
            Assert.Equal(0, (await db.StreamPendingAsync(stream, RedisKeys.FlusherGroup)).PendingMessageCount);
        }
        finally
        {
            await db.KeyDeleteAsync(stream);
        }
    }
}
