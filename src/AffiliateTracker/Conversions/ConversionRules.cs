namespace AffiliateTracker.Conversions;

/// The rules that decide when a conversion may be approved, each written once. A flag (too_fast, bot_click,
/// datacenter, over_cap, ip_velocity, amount_over_limit) holds a conversion for a human: it is never approved by the hold,
/// nor by the advertiser, only by an admin. A conversion a browser reported waits for the advertiser's
/// confirmation before the hold may approve it. The Redis scripts in ConversionRecorder keep the same rules
/// for postbacks answered before PostgreSQL knows the conversion (the "|review" and "|unconfirmed" marks).
public static class ConversionRules
{
    /// Every flag a conversion may carry (PostbackHandler and the recorder's scripts set them).
    public static readonly string[] Flags = ["too_fast", "bot_click", "datacenter", "over_cap", "ip_velocity", "amount_over_limit"];

    /// The status a new conversion starts in: what the postback asked for, except that a flagged one waits.
    public static string StatusOnArrival(string? requested, IReadOnlyCollection<string> flags) =>
        requested == ConversionStatus.Approved && flags.Count == 0 ? ConversionStatus.Approved
        : requested == ConversionStatus.Rejected ? ConversionStatus.Rejected
        : ConversionStatus.Pending;

    /// SQL over conversions `c`: the hold worker may approve it when its hold ends.
    public const string HoldMayApproveSql = "cardinality(c.flags) = 0 AND NOT c.awaiting_confirmation";

    /// SQL over conversions `c`: a change to @to is allowed for this caller (@reviewer: an admin decides).
    public const string ChangeAllowedSql = "(@to <> 'approved' OR cardinality(c.flags) = 0 OR @reviewer)";

    /// Whether an approval was refused because the conversion waits for an admin's review.
    public static bool HeldForReview(ConversionRow row, string to) =>
        to == ConversionStatus.Approved && row.Status == ConversionStatus.Pending && row.Flags.Length > 0;
}
