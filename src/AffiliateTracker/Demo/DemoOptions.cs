namespace AffiliateTracker.Demo;

public sealed class DemoOptions
{
    /// Seeds a demo network and serves the demo shop at /demo/shop. Never on in production.
    public bool Enabled { get; set; }

    /// Where the demo offers land: this server's own address as a visitor's browser reaches it.
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:5080";

    // Fixed, publicly known credentials: they exist only in demo mode so a newcomer can try the API at once.
    public const string AdminKey = "demo-admin-key";
    public const string AdvertiserKey = "demo-advertiser-key";
    public const string PublisherKeyAlice = "demo-publisher-alice-key";
    public const string PublisherKeyBob = "demo-publisher-bob-key";
    public const string PostbackToken = "demo-postback-token";
}
