namespace AffiliateTracker.ProductFeeds;

/// `ProductFeeds:*` settings.
public sealed class ProductFeedOptions
{
    /// The largest upload or fetched feed, in bytes.
    public long MaxUploadBytes { get; set; } = 1L << 30;
    /// How often the fetcher looks for feeds due to be fetched from their source_url.
    public TimeSpan FetchInterval { get; set; } = TimeSpan.FromMinutes(1);
    /// How long one fetch may take, download and import together.
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromMinutes(10);
    /// Lets source URLs reach loopback and private addresses (tests and closed networks only).
    public bool AllowPrivateAddresses { get; set; }
}
