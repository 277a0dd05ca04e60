using AffiliateTracker.Http;

namespace AffiliateTracker.Tests;

public sealed class MoneyTextTests
{
    [Theory]
    [InlineData("120.50", "120.50")]
    [InlineData("0", "0")]
    [InlineData(".5", "0.5")]
    [InlineData("7.", "7")]
    [InlineData("12.500000", "12.5")]
    [InlineData("1000000000000", "1000000000000")]
    [InlineData("0.0001", "0.0001")]
    public void Plain_decimals_with_at_most_four_significant_decimals_are_read_exactly(string text, string expected)
    {
        Assert.True(MoneyText.TryParse(text, out var value));
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), value);
    }

    [Theory]
    [InlineData("1.000000000000000000000000000001")] // decimal.Parse rounds this to 1
    [InlineData("0.00000000000000000000000000000001")] // and this to 0
    [InlineData("1.23456")]
    [InlineData("5\0")]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1e3")]
    [InlineData(" 1")]
    [InlineData("1,000.00")]
    [InlineData("1000000000000.0001")]
    [InlineData("99999999999999")]
    [InlineData("١٢٣")] // digits, but not ASCII ones
    public void Anything_else_is_refused(string text) => Assert.False(MoneyText.TryParse(text, out _));
}
