namespace AffiliateTracker.Storage;

/// The "Redis" settings section.
public sealed class RedisOptions
{
    /// Prefix of every key, so several networks (or test runs) can share one Redis.
    public string KeyPrefix { get; set; } = "at:";

    /// Replicas that must have each group commit of clicks and each batch of postbacks before they are
    /// acknowledged (one WAIT per batch and primary). 0: acknowledged once the primary has them, which a
    /// failover can lose, since Redis replicates asynchronously (docs/scaling.md).
    public int ReplicaAcks { get; set; }

    /// How long a batch waits for its replicas. Clicks that time out stay in the local buffer and are
    /// written again; postbacks answer 503, so the advertiser retries.
    public TimeSpan ReplicaAckTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// With ReplicaAcks, the connections batches are recorded on, used in turn (one batch's WAIT blocks only its own).
    public int RecordingConnections { get; set; } = 4;
}
