namespace AffiliateTracker.Conversions;

/// The conversion lifecycle: pending → approved or rejected; approved → rejected (an order cancelled
/// after approval; once paid, payouts carry it as a clawback). Rejected is final; nothing goes back to pending.
public static class ConversionStatus
{
    public const string Pending = "pending", Approved = "approved", Rejected = "rejected";

    public static string[] AllowedFrom(string to) => to switch
    {
        Approved => [Pending],
        Rejected => [Pending, Approved],
        _ => [],
    };

    public static bool CanChange(string from, string to) => AllowedFrom(to).Contains(from);

    public static bool IsKnown(string? s) => s is Pending or Approved or Rejected;
}
