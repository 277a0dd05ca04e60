using AffiliateTracker.Clicks;
using AffiliateTracker.Network;

namespace AffiliateTracker.Tests;

public sealed class LandingUrlTests
{
    private static readonly ClickRecord Click = new("01M7Z5J01FC2K56S1833VFEX3M", DateTimeOffset.UtcNow, 12, 34, null,
        "a b&c=d", "ü/?#", null, null, null, "src", null, null, null, null, false);

    [Fact]
    public void Macros_are_replaced_by_url_encoded_values()
    {
        var url = LandingUrl.Expand("https://x.example/p?c={click_id}&o={offer_id}&a={aff_id}&s1={sub1}&s2={sub2}&s3={sub3}&src={source}", Click);
        Assert.Equal("https://x.example/p?c=01M7Z5J01FC2K56S1833VFEX3M&o=12&a=34&s1=a%20b%26c%3Dd&s2=%C3%BC%2F%3F%23&s3=&src=src", url);
    }

    [Fact]
    public void A_url_that_grows_far_beyond_its_template_is_expanded_whole()
    {
        // Five 255-character sub ids that each escape to three times their length: about 3,800 characters
        // from a template of 60, well past the first buffer.
        var sub = string.Concat(Enumerable.Repeat("&=/", 85));
        var click = Click with { Sub1 = sub, Sub2 = sub, Sub3 = sub, Sub4 = sub, Sub5 = sub };
        var url = LandingUrl.Expand("https://x.example/?a={sub1}&b={sub2}&c={sub3}&d={sub4}&e={sub5}", click);
        var escaped = string.Concat(Enumerable.Repeat("%26%3D%2F", 85));
        Assert.Equal($"https://x.example/?a={escaped}&b={escaped}&c={escaped}&d={escaped}&e={escaped}", url);
    }

    [Theory]
    [InlineData("https://x.example/p?x={unknown}&y={", "https://x.example/p?x={unknown}&y={")]
    [InlineData("https://x.example/plain", "https://x.example/plain")]
    [InlineData("https://x.example/{sub1}/end", "https://x.example/a%20b%26c%3Dd/end")]
    public void Unknown_macros_and_stray_braces_are_left_as_written(string template, string expected) =>
        Assert.Equal(expected, LandingUrl.Expand(template, Click));

    [Theory]
    [InlineData("https://good.example\u3002evil.com/land", "good.example.evil.com")]
    [InlineData("https://good.example\uFF0Eevil.com/land", "good.example.evil.com")]
    [InlineData("https://\uFF47\uFF4F\uFF4F\uFF44.example/", "good.example")]
    public void A_host_that_normalisation_would_change_is_refused_and_the_answer_shows_the_change(string url, string becomes)
    {
        var problem = LandingUrlRules.Problem(url);
        Assert.NotNull(problem);
        Assert.Contains(becomes, problem);
    }

    [Theory]
    [InlineData("https://bücher.example/größe")]
    [InlineData("https://Bücher.example/")]
    [InlineData("https://пример.испытание/?c={click_id}")]
    public void An_internationalised_host_that_reads_back_as_typed_is_accepted(string url) => Assert.Null(LandingUrlRules.Problem(url));

    [Theory]
    [InlineData("https://shop.example/land?cid={click_id}")]
    [InlineData("http://127.0.0.1:5080/demo/shop?c={click_id}")]
    public void Ordinary_landing_urls_are_accepted(string url) => Assert.Null(LandingUrlRules.Problem(url));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/relative/path")]
    [InlineData("javascript:alert(1)")]
    [InlineData("ftp://files.example/")]
    [InlineData("https://{sub1}.example/")]
    [InlineData("https://shop.example{sub1}/")]
    [InlineData("{sub1}")]
    [InlineData("https://user:pass@shop.example/")]
    // Browsers read a backslash as a slash and need no "//" after the scheme: each of these lets sub1 pick the host.
    [InlineData("https:/\\{sub1}")]
    [InlineData("http:/\\{sub1}/x")]
    [InlineData("https:\\/{sub1}")]
    [InlineData("https:/{sub1}")]
    [InlineData("https:{sub1}")]
    [InlineData("https:///{sub1}")]
    [InlineData("https://shop.example\\@{sub1}/")]
    // Control characters would end up in the Location header or be refused by PostgreSQL.
    [InlineData("https://shop.example/\r\nSet-Cookie: x=1")]
    [InlineData("https://shop.example/\u0000")]
    public void Landing_urls_that_could_be_steered_elsewhere_are_refused(string? url) => Assert.NotNull(LandingUrlRules.Problem(url));

    [Fact]
    public void Macros_may_follow_the_host_in_the_query_without_a_path() => Assert.Null(LandingUrlRules.Problem("https://shop.example?s={sub1}"));

    [Theory]
    [InlineData("https://bücher.example/{sub1}?q=ü", "https://xn--bcher-kva.example/{sub1}?q=%C3%BC")]
    [InlineData("https://shop.example/größe a/{click_id}", "https://shop.example/gr%C3%B6%C3%9Fe%20a/{click_id}")]
    [InlineData("https://shop.example:8443/😀", "https://shop.example:8443/%F0%9F%98%80")]
    [InlineData("https://shop.example/plain?c={click_id}", "https://shop.example/plain?c={click_id}")]
    public void Urls_are_kept_in_the_ascii_form_a_location_header_can_carry(string url, string ascii)
    {
        Assert.Null(LandingUrlRules.Problem(url));
        Assert.Equal(ascii, LandingUrlRules.ToAscii(url));
    }
}
