using System.Text;
using AffiliateTracker.ProductFeeds;

namespace AffiliateTracker.Tests;

/// Product feeds are read as streams, one item at a time, whatever their format; what cannot be read is
/// reported by line or refused whole, never thrown as anything but a FeedFormatException.
public sealed class FeedReaderTests
{
    private static async Task<(string Format, List<RawProduct> Items)> ReadAsync(byte[] bytes)
    {
        var format = "";
        var items = new List<RawProduct>();
        await foreach (var item in FeedReader.ReadAsync(new MemoryStream(bytes), f => format = f)) items.Add(item);
        return (format, items);
    }

    private static Task<(string Format, List<RawProduct> Items)> ReadAsync(string text) => ReadAsync(Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task Yml_offers_are_read_with_their_category_names()
    {
        var (format, items) = await ReadAsync("""
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE yml_catalog SYSTEM "shops.dtd">
            <yml_catalog date="2026-12-01 10:00">
              <shop>
                <name>Shop</name>
                <currencies><currency id="RUR" rate="1"/></currencies>
                <categories><category id="1">Обувь</category><category id="2" parentId="1">Кроссовки</category></categories>
                <offers>
                  <offer id="sku-1" available="true">
                    <url>https://shop.example/p/1</url><price>4990.00</price><currencyId>RUR</currencyId><categoryId>2</categoryId>
                    <picture>https://img.shop.example/1.jpg</picture><picture>https://img.shop.example/1b.jpg</picture>
                    <name>Кроссовки &amp; носки</name><description><![CDATA[<p>Лёгкие</p>]]></description>
                  </offer>
                  <offer id="sku-2" available="false" type="vendor.model">
                    <url>https://shop.example/p/2</url><price>10</price><currencyId>RUR</currencyId>
                    <vendor>Acme</vendor><model>X1</model>
                  </offer>
                </offers>
              </shop>
            </yml_catalog>
            """);

        Assert.Equal("yml", format);
        Assert.Equal(new RawProduct(9, "sku-1", "Кроссовки & носки", "4990.00", "RUR", "https://shop.example/p/1", "https://img.shop.example/1.jpg",
            "Кроссовки", "true"), items[0]);
        Assert.Equal(("sku-2", "Acme X1", "false", (string?)null), (items[1].Id, items[1].Name, items[1].Availability, items[1].Category));
    }

    [Fact]
    public async Task A_windows_1251_yml_feed_is_read_in_its_declared_encoding()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        var xml = """<?xml version="1.0" encoding="windows-1251"?><yml_catalog><shop><offers><offer id="1"><name>Чайник</name></offer></offers></shop></yml_catalog>""";

        var (_, items) = await ReadAsync(Encoding.GetEncoding(1251).GetBytes(xml));

        Assert.Equal("Чайник", items.Single().Name);
    }

    [Fact]
    public async Task Google_merchant_rss_items_are_read_with_price_and_currency_split()
    {
        var (format, items) = await ReadAsync("""
            <?xml version="1.0"?>
            <rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">
              <channel><title>Shop</title><link>https://shop.example/</link>
                <item>
                  <g:id>A1</g:id><title>Red shoe</title><link>https://shop.example/red</link>
                  <g:price>15.00 USD</g:price><g:image_link>https://shop.example/red.jpg</g:image_link>
                  <g:availability>out of stock</g:availability><g:product_type>Shoes &gt; Red</g:product_type>
                </item>
              </channel>
            </rss>
            """);

        Assert.Equal("google", format);
        Assert.Equal(new RawProduct(4, "A1", "Red shoe", "15.00", "USD", "https://shop.example/red", "https://shop.example/red.jpg", "Shoes > Red",
            "out of stock"), items.Single());
    }

    [Fact]
    public async Task Csv_columns_are_found_by_name_and_semicolons_are_accepted()
    {
        var (format, items) = await ReadAsync("\uFEFFname;id;price;url;currency\n\"Cup; blue\";c-1;\"1 299,50\";https://shop.example/c1;EUR\r\n");

        Assert.Equal("csv", format);
        Assert.Equal(new RawProduct(2, "c-1", "Cup; blue", "1 299,50", "EUR", "https://shop.example/c1", null, null, null), items.Single());
    }

    [Fact]
    public async Task A_huge_line_a_broken_encoding_and_bad_quoting_are_reported_by_line_and_reading_goes_on()
    {
        var csv = new MemoryStream();
        csv.Write("id,name,price,url\n"u8);
        csv.Write(Encoding.UTF8.GetBytes("1," + new string('x', 10_000_000) + ",1,https://shop.example/1\n"));
        csv.Write("2,caf"u8); csv.Write([0xC3, 0x28]); csv.Write(",1,https://shop.example/2\n"u8);
        csv.Write("3,\"open,1,https://shop.example/3\n"u8);
        csv.Write("4,ok,1,https://shop.example/4\n"u8);

        var (_, items) = await ReadAsync(csv.ToArray());

        Assert.Equal([(2, "the line is longer than 65536 characters"), (3, "the line is not valid UTF-8"), (4, "unterminated quoted field")],
            items.Take(3).Select(i => (i.Line, i.Problem!)));
        Assert.Equal(("4", null), (items[3].Id, items[3].Problem));
    }

    [Fact]
    public async Task A_billion_laughs_feed_is_refused_without_expanding_anything()
    {
        var xml = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
              <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;">]>
            <yml_catalog><shop><offers><offer id="1"><name>&lol9;</name></offer></offers></shop></yml_catalog>
            """;

        var refused = await Assert.ThrowsAsync<FeedFormatException>(() => ReadAsync(xml));

        Assert.Equal(4, refused.Line);
        Assert.Contains("not well-formed", refused.Message);
    }

    [Fact]
    public async Task A_huge_xml_text_is_cut_and_the_item_reported()
    {
        var xml = $"<yml_catalog><shop><offers><offer id=\"1\"><name>{new string('n', 1_000_000)}</name></offer></offers></shop></yml_catalog>";

        var (_, items) = await ReadAsync(xml);

        Assert.Equal("name is longer than 65536 characters", items.Single().Problem);
    }

    [Theory]
    [InlineData("<html><body>Not a feed</body></html>", "neither YML")]
    [InlineData("<yml_catalog><shop><offers><offer id=\"1\"><name>x</offer>", "not well-formed")]
    [InlineData("sku,title\n1,x\n", "lacks price, url")]
    public async Task A_feed_that_cannot_be_read_is_refused_with_why(string text, string why) =>
        Assert.Contains(why, (await Assert.ThrowsAsync<FeedFormatException>(() => ReadAsync(text))).Message);
}
