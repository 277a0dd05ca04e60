using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;

namespace AffiliateTracker.Tests;

public sealed class ReplicaAckSettingsTests
{
    [Theory]
    [InlineData(1, "00:00:00")]     // WAIT with timeout 0 blocks for ever
    [InlineData(1, "00:00:05")]     // longer than the client's own timeout
    [InlineData(-1, "00:00:00.500")]
    [InlineData(9, "00:00:00.500")]
    public void Settings_that_would_block_or_never_be_met_stop_the_start(int replicas, string timeout)
    {
        var options = Options.Create(new RedisOptions { ReplicaAcks = replicas, ReplicaAckTimeout = TimeSpan.Parse(timeout) });
        var e = Assert.Throws<InvalidOperationException>(() => new ReplicaAcks(options));
        Assert.StartsWith("Redis:ReplicaAck", e.Message);
    }

    [Fact]
    public void Without_replica_acks_nothing_waits()
    {
        var acks = new ReplicaAcks(Options.Create(new RedisOptions { ReplicaAckTimeout = TimeSpan.Zero }));
        Assert.False(acks.Enabled);
    }
}
