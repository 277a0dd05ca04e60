using AffiliateTracker.Conversions;

namespace AffiliateTracker.Tests;

/// The pure parts of a postback: reading its parameters and computing what a goal pays, without I/O.
public sealed class PostbackParsingTests
{
    private static PostbackRequest Parse(params (string Name, string Value)[] p) =>
        PostbackRequest.Parse(p.ToDictionary(x => x.Name, x => x.Value, StringComparer.OrdinalIgnoreCase));

    [Theory]
    [InlineData("click_id")]
    [InlineData("transaction_id")]
    [InlineData("clickid")]
    [InlineData("cid")]
    [InlineData("subid")]
    public void The_click_id_is_read_under_every_name_other_trackers_use(string name) =>
        Assert.Equal("01M8ZGSFXS854N8PJN2EF4EYZN", Parse((name, "01M8ZGSFXS854N8PJN2EF4EYZN")).ClickId);

    [Fact]
    public void Amount_currency_status_and_txid_are_read_and_normalised()
    {
        var r = Parse(("click_id", "01M8ZGSFXS854N8PJN2EF4EYZN"), ("amount", "120.50"), ("currency", "eur"), ("status", "APPROVED"), ("txid", "order-1"));

        Assert.Equal((120.50m, "EUR", "approved", "order-1", "120.50"), (r.Amount, r.Currency, r.Status, r.Txid, r.AmountText));
    }

    [Theory]
    [InlineData("amount", "1.000000000000000000000000000001", "invalid_amount")]
    [InlineData("amount", "5\0", "invalid_amount")]
    [InlineData("click_id", "not-a-click", "invalid_click_id")]
    [InlineData("offer_id", "-3", "invalid_offer_id")]
    [InlineData("currency", "dollars", "invalid_currency")]
    [InlineData("status", "paid", "invalid_status")]
    [InlineData("txid", "a\u0001b", "invalid_txid")]
    public void A_malformed_parameter_is_refused_by_name(string name, string value, string error) =>
        Assert.Equal(error, Assert.Throws<PostbackRequest.Invalid>(() => Parse((name, value))).Error);

    [Theory]
    [InlineData("fixed", 2.50, null, 2.50)]
    [InlineData("percent", 10, 19.99, 2.00)]   // 1.999 rounds to the cent
    [InlineData("percent", 7.5, 0.05, 0.00)]   // 0.00375
    [InlineData("percent", 10, 0.05, 0.01)]    // 0.005: half away from zero
    public void A_goal_pays_a_fixed_amount_or_a_percentage_rounded_half_away_from_zero(string type, double rate, double? sale, double expected) =>
        Assert.Equal((decimal)expected, Commission.Compute(type, (decimal)rate, sale is null ? null : (decimal)sale));
}
