using AffiliateTracker.Clicks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace AffiliateTracker.Tests;

/// The redirect reads its parameters in one pass; it must read what the request's query collection would.
public sealed class ClickQueryTests
{
    private static ClickQuery Parse(string query) => ClickQuery.Parse(new QueryString(query));

    [Fact]
    public void Reads_every_click_parameter_decoded()
    {
        var q = Parse("?sub1=caf%C3%A9+%26+x%3Dy&sub2=b&sub3=c&sub4=d&sub5=e&source=fb&cost=0.25&cost_currency=eur&url=https%3A%2F%2Fshop.example%2Fp%3Fa%3D1");

        Assert.Equal(new ClickQuery("café & x=y", "b", "c", "d", "e", "fb", "0.25", "eur", "https://shop.example/p?a=1"), q);
    }

    [Fact]
    public void Names_are_case_insensitive_and_the_first_value_counts()
    {
        var q = Parse("?SUB1=first&sub1=second&Source=a&source=b&s%75b2=escaped");

        Assert.Equal(("first", "a", "escaped"), (q.Sub1, q.Source, q.Sub2));
    }

    [Fact]
    public void Empty_means_absent_even_when_a_later_value_is_not()
    {
        var q = Parse("?sub1=&sub1=later&cost=&url");

        Assert.Equal(default, q);
    }

    [Theory]
    [InlineData("")]
    [InlineData("?")]
    [InlineData("?&&=x&sub1")]
    [InlineData("?sub10=x&subs=y&cost_currencyx=z")]
    public void Other_and_malformed_parameters_read_as_absent(string query) => Assert.Equal(default, Parse(query));

    [Theory]
    [InlineData("?sub1=a+b%20c&sub3=%E6%97%A5%E6%9C%AC&sub1=z&SOURCE=%F0%9F%98%80")]
    [InlineData("?url=%zz&sub2=100%25&cost=1e3")]
    public void Agrees_with_the_query_collection(string query)
    {
        var collection = new QueryCollection(QueryHelpers.ParseQuery(query));
        string? First(string name) => collection[name] is { Count: > 0 } v && !string.IsNullOrEmpty(v[0]) ? v[0] : null;
        var q = Parse(query);

        Assert.Equal(new ClickQuery(First("sub1"), First("sub2"), First("sub3"), First("sub4"), First("sub5"), First("source"),
            First("cost"), First("cost_currency"), First("url")), q);
    }
}
