using AffiliateTracker.Conversions;

namespace AffiliateTracker.Tests;

public sealed class ConversionRulesTests
{
    [Theory]
    [InlineData(null, new string[0], "pending")]
    [InlineData("approved", new string[0], "approved")]
    [InlineData("approved", new[] { "too_fast" }, "pending")]
    [InlineData("approved", new[] { "over_cap", "ip_velocity" }, "pending")]
    [InlineData("rejected", new[] { "bot_click" }, "rejected")]
    [InlineData("pending", new string[0], "pending")]
    public void A_new_conversion_starts_as_asked_unless_a_flag_holds_an_approval(string? requested, string[] flags, string expected) =>
        Assert.Equal(expected, ConversionRules.StatusOnArrival(requested, flags));

    [Fact]
    public void An_approval_of_a_flagged_pending_conversion_is_held_for_review()
    {
        var flagged = new ConversionRow { Status = "pending", Flags = ["amount_over_limit"] };
        var clean = new ConversionRow { Status = "pending", Flags = [] };

        Assert.True(ConversionRules.HeldForReview(flagged, "approved"));
        Assert.False(ConversionRules.HeldForReview(flagged, "rejected"));
        Assert.False(ConversionRules.HeldForReview(clean, "approved"));
    }
}
