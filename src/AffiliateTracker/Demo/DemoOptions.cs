namespace AffiliateTracker.Demo;

public sealed class DemoOptions
{
    /// Seeds a demo network and serves the demo shop at /demo/shop. Never on in production.
    public bool Enabled { get; set; }

    // Fixed, publicly known credentials: they exist only in demo mode so a newcomer can try the API at once.
    public const string AdminKey = "demo-admin-key";
    public const string AdvertiserKey = "demo-advertiser-key";
    public const string PublisherKeyAlice = "demo-publisher-alice-key";
    public const string PublisherKeyBob = "demo-publisher-bob-key";
    public const string PostbackToken = "demo-postback-token";
    // Demo console users, all with the same publicly known password.
    public const string AdminEmail = "admin@demo.test", AdvertiserEmail = "shop@demo.test", AliceEmail = "alice@demo.test", BobEmail = "bob@demo.test";
    public const string Password = "demo-password";
}
