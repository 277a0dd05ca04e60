namespace AffiliateTracker.IntegrationTests;

/// A payout run claims every publisher's available balance across the network, so two test classes that
/// create runs would take each other's conversions if they ran at once. Classes in this collection run one
/// after the other (xunit still runs them in parallel with everything else).
[CollectionDefinition(Name)]
public sealed class PayoutRunCollection
{
    public const string Name = "Network-wide payout runs";
}
