namespace AffiliateTracker.PublisherPostbacks;

public sealed class PublisherPostbackOptions
{
    public bool Enabled { get; set; } = true;
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// Retry n waits BaseDelay × 2^(n-1), at most MaxDelay.
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromHours(6);
    public int MaxAttempts { get; set; } = 10;

    /// After this many failed deliveries in a row, the publisher's postbacks are paused and the reason recorded.
    public int PauseAfterFailures { get; set; } = 50;

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// Postbacks to loopback and private addresses are refused unless this is on (a publisher's URL must not
    /// reach into the tracker's own network). Tests and single-machine demos turn it on.
    public bool AllowPrivateAddresses { get; set; }
}
