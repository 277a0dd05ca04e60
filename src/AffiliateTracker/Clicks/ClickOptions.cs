namespace AffiliateTracker.Clicks;

public sealed class ClickOptions
{
    /// How long a click's attribution record stays in Redis at most; older clicks are attributed from
    /// PostgreSQL. Bounds Redis memory whatever the offers' windows are.
    public TimeSpan HotPeriod { get; set; } = TimeSpan.FromDays(7);

    /// How long a redirect waits for its click to be written to Redis before it answers anyway
    /// (the click then stays in the local buffer and is written when Redis is back).
    public TimeSpan RecordTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// Most clicks written in one group commit (one pipelined round trip to Redis).
    public int MaxBatch { get; set; } = 256;

    /// Group commits on their way to Redis at once (each with up to MaxBatch clicks).
    public int MaxBatchesInFlight { get; set; } = 4;

    /// Clicks the local buffer holds while Redis is unreachable before new ones are refused.
    public int MaxBuffered { get; set; } = 1_000_000;

    public int StreamShards { get; set; } = 1;

    /// Repeat clicks by the same visitor on the same offer within this period are not unique.
    public TimeSpan UniqueWindow { get; set; } = TimeSpan.FromHours(24);

    public bool FlusherEnabled { get; set; } = true;
    /// Most clicks one flush pass takes from a stream shard (read as whole group commits, about FlushBatch / 64 entries).
    public int FlushBatch { get; set; } = 6000;
    public TimeSpan FlushIdleDelay { get; set; } = TimeSpan.FromMilliseconds(200);
    /// While the flusher keeps up, a pass starts no sooner than this after the one before: fewer, larger batches
    /// cost PostgreSQL and Redis less per click (a backlog is still flushed pass after pass).
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// Entries another flusher read but did not acknowledge within this time are taken over.
    public TimeSpan ReclaimAfter { get; set; } = TimeSpan.FromSeconds(30);
}
