using AffiliateTracker.Clicks;
using AffiliateTracker.Http;
using AffiliateTracker.Network;

namespace AffiliateTracker.Tests;

public sealed class DeepLinkRulesTests
{
    private static readonly string[] Domains = ["shop.example", "*.brand.example"];

    [Theory]
    [InlineData("https://shop.example/p/42?color=red", "shop.example")]
    [InlineData("HTTPS://SHOP.EXAMPLE/p/42", "shop.example")]
    [InlineData("http://shop.example:8443/p", "shop.example")]
    [InlineData("https://brand.example/", "brand.example")]
    [InlineData("https://m.de.brand.example/item", "m.de.brand.example")]
    [InlineData("https://shop.example/@evil.example", "shop.example")]
    [InlineData("https://shop.example?next=https://evil.example", "shop.example")]
    [InlineData("https://shop.example#@evil.example", "shop.example")]
    public void A_page_on_a_listed_domain_is_allowed(string url, string host) =>
        Assert.Equal(host, DeepLinkRules.AllowedHost(url, Domains));

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("https://shop.example.evil.example/")]
    [InlineData("https://evilshop.example/")]
    [InlineData("https://notbrand.example/")]
    [InlineData("https://sub.shop.example/")] // shop.example is listed exactly, not with subdomains
    [InlineData("javascript:alert(1)")]
    [InlineData("data:text/html,<script>alert(1)</script>")]
    [InlineData("//evil.example/")]
    [InlineData("https:evil.example")]
    [InlineData("https:/evil.example")]
    [InlineData("https:\\\\evil.example")]
    [InlineData("https://shop.example\\@evil.example")]
    [InlineData("https://shop.example@evil.example/")]
    [InlineData("https://user:pw@shop.example/")]
    [InlineData("https://shop.example%2F@evil.example")]
    [InlineData("https://shop%2Eexample/")]
    [InlineData("https://evil.example%23.shop.example/")]
    [InlineData("https://shop.example%00.evil.example/")]
    [InlineData("https://shоp.example/")] // Cyrillic o
    [InlineData("https://shop。example/")]
    [InlineData("https://ｓｈｏｐ.example/")]
    [InlineData("https://xn--shp-sdd.example/")]
    [InlineData("https://shop.example./")]
    [InlineData("https://.shop.example/")]
    [InlineData("https://[::1]/")]
    [InlineData("https://127.0.0.1/")]
    [InlineData("https://shop.example:99999999/")]
    [InlineData("https://shop.example:/")]
    [InlineData("https://sh\top.example/")]
    [InlineData("https://shop.example/\r\nSet-Cookie:x=1")]
    [InlineData("https://shop.example/a b")]
    [InlineData("ftp://shop.example/")]
    [InlineData("")]
    public void Anything_else_is_refused(string url) => Assert.Null(DeepLinkRules.AllowedHost(url, Domains));

    [Fact]
    public void An_offer_without_domains_takes_no_deep_link() => Assert.Null(DeepLinkRules.AllowedHost("https://shop.example/", []));

    [Theory]
    [InlineData(" Shop.Example ", "shop.example")]
    [InlineData("*.Brand.example", "*.brand.example")]
    public void Domains_are_stored_in_lower_case(string given, string stored) =>
        Assert.Equal([stored], DeepLinkRules.ValidatedDomains([given]));

    [Theory]
    [InlineData("https://shop.example/")]
    [InlineData("*.")]
    [InlineData("shop")]
    [InlineData("shop.example/path")]
    [InlineData("*.*.example")]
    [InlineData("shоp.example")]
    public void A_domain_that_is_not_a_host_name_is_refused(string given) =>
        Assert.Equal(400, Assert.Throws<ApiException>(() => DeepLinkRules.ValidatedDomains([given])).Status);

    [Theory]
    [InlineData("clickid", "clickid={click_id}")]
    [InlineData("clickid={click_id}&utm_source=aff{aff_id}", "clickid={click_id}&utm_source=aff{aff_id}")]
    [InlineData("https://go.shop.example/r?to={url}&cid={click_id}", "https://go.shop.example/r?to={url}&cid={click_id}")]
    public void A_template_is_query_parameters_or_a_redirector(string given, string stored) =>
        Assert.Equal(stored, DeepLinkRules.ValidatedTemplate(given));

    [Theory]
    [InlineData("https://go.shop.example/r?cid={click_id}")]
    [InlineData("https://{url}/")]
    [InlineData("a=b#frag")]
    [InlineData("a=b c")]
    public void A_template_that_could_move_the_host_or_lacks_url_is_refused(string given) =>
        Assert.Equal(400, Assert.Throws<ApiException>(() => DeepLinkRules.ValidatedTemplate(given)).Status);

    [Theory]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "mobile", "ios")]
    [InlineData("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "tablet", "ios")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "mobile", "android")]
    [InlineData("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "tablet", "android")]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "desktop", "windows")]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "desktop", "macos")]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "desktop", "linux")]
    [InlineData("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "desktop", "linux")]
    [InlineData("", "desktop", null)]
    public void Device_and_os_are_read_from_the_user_agent(string ua, string device, string? os) =>
        Assert.Equal(new DeviceGuess(device, os), DeviceGuess.Of(ua));
}
