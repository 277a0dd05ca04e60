namespace AffiliateTracker.Conversions;

/// What a goal pays: a fixed amount, or a percentage of the sale amount rounded to the cent
/// (half away from zero, as accountants round). Exact decimal arithmetic throughout.
public static class Commission
{
    public static decimal Compute(string type, decimal rate, decimal? saleAmount) => type switch
    {
        "fixed" => rate,
        "percent" => Math.Round(saleAmount!.Value * rate / 100m, 2, MidpointRounding.AwayFromZero),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown payout type"),
    };
}
