namespace AffiliateTracker.IntegrationTests;

/// The hold worker approves every due conversion in the database, and the classes in this collection move their
/// server's clock days ahead before they run it: run beside other classes, they would approve those classes'
/// pending conversions (a report's pending count, a status a test expects still pending). So they run alone.
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HoldApprovalCollection
{
    public const string Name = "Network-wide hold approvals";
}
