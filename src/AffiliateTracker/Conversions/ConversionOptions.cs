namespace AffiliateTracker.Conversions;

public sealed class ConversionOptions
{
    /// Conversion streams (and their dedupe keys and counters); an offer's keys all live in one shard.
    public int StreamShards { get; set; } = 1;

    /// How long a conversion's dedupe record stays in Redis after its offer's attribution window and
    /// hold period, so late status postbacks still find it.
    public TimeSpan DedupeGrace { get; set; } = TimeSpan.FromDays(30);

    /// A conversion sooner than this after its click is flagged too_fast (click injection, bots).
    public TimeSpan MinTimeToConvert { get; set; } = TimeSpan.FromSeconds(5);

    /// More conversions than this on one offer from one click IP in a day are flagged ip_velocity (0 = off).
    public int MaxConversionsPerIpPerDay { get; set; } = 5;

    public bool FlusherEnabled { get; set; } = true;

    /// New conversions and postback log batches travel their streams in binary (ConversionCodec, PostbackLogCodec).
    /// false writes JSON, the only form servers from before 2026-12-04 read: for a rolling upgrade from such a
    /// version, until none runs (docs/reliability.md, "Upgrading"). This version reads both.
    public bool BinaryStreams { get; set; } = true;
    /// Bounds a flush pass per stream shard: this many entries, or FlushBatch / 8 while BinaryStreams is on (an entry
    /// then holds one creation script call's new conversions, a few to dozens under load).
    public int FlushBatch { get; set; } = 500;
    public TimeSpan FlushIdleDelay { get; set; } = TimeSpan.FromMilliseconds(200);
    /// While the flushers (conversions, postback log) keep up, a pass starts no sooner than this after the one before,
    /// as for clicks (ClickOptions.FlushInterval): a trickle of postbacks among clicks otherwise costs a transaction each.
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);
    public TimeSpan ReclaimAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// The hold worker's pause between passes.
    public TimeSpan HoldCheckInterval { get; set; } = TimeSpan.FromSeconds(30);
}
