using System.Text;
using static AffiliateTracker.Abuse.JsonFuzz;

namespace AffiliateTracker.Abuse;

public sealed partial class RequestGenerator
{
    // ---- deep links and smart links ----

    /// Deep-link targets: pages on the offer's domains, and every way we know to make a parser see another host.
    private string[] DeepUrls()
    {
        var shop = $"shop.{t.Tag}.example";
        var brand = $"m.brand.{t.Tag}.example";
        return
        [
            $"https://{shop}/p/1?color=red#reviews", $"http://{shop}/", $"HTTPS://{shop.ToUpperInvariant()}/P", $"https://{brand}/item/7", $"https://{shop}:8443/x",
            $"https://{shop}/@evil.example", $"https://{shop}/?next=https://evil.example", $"https://{shop}/größe", $"https://{shop}/a%20b",
            "https://evil.example/", $"https://{shop}@evil.example/", $"https://evil.example\\@{shop}/", $"https://{shop}.evil.example/", $"https://evil{shop}/",
            $"https://evil.example/?{shop}", $"https://evil.example#{shop}", "//evil.example/", $"//{shop}/", $"javascript:alert(1)//{shop}", $"https:{shop}",
            "https:/\\evil.example", "https:\\\\evil.example", $"https://evil.example%2F@{shop}", $"https://{shop}%2F@evil.example", $"https://{shop}%252F@evil.example",
            $"https://{shop.Replace('o', 'о')}/", $"https://{shop}。evil.example/", $"https://{shop.Replace("shop", "ｓｈｏｐ")}/", $"https://evil.example%00.{shop}/",
            "http://[::1]/", "http://127.0.0.1/", $"https://{shop}:80@evil.example", $"https://{shop}\t.evil.example", $"https://{shop}/\r\n{Payloads.InjectedHeader}: 1",
            $"data:text/html,<script>location='https://evil.example'</script>{shop}", $"https://{shop}./", $"https://.{shop}/", $"https://{shop}:99999/",
            $"https://brand.{t.Tag}.example.evil.example/", $"https://xbrand.{t.Tag}.example/", $"ftp://{shop}/", $" https://{shop}/", $"https://{shop}/" + new string('p', 2100),
            $"https://user:pw@{shop}/", $"https://{shop}\\", $"https://evil.example/%2F%2F{shop}", "", "%", "https://", "https:///evil.example",
        ];
    }

    private AbuseRequest DeepLinkClick(Fuzz f, int index)
    {
        var offer = t.DeepLinkOffer ?? t.Offers[0];
        var ps = new List<(string, string)> { ("url", f.Chance(0.9) ? f.Pick(DeepUrls()) : f.Nasty()) };
        if (f.Chance(0.3)) ps.Add(("sub1", f.Chance(0.5) ? f.Word() : f.Nasty()));
        if (f.Chance(0.1)) ps.Add(("url", f.Pick(DeepUrls()))); // repeated: the first counts
        if (f.Chance(0.2)) ps.Reverse();
        // Deep links on another offer's link (no domains): always its landing page.
        var (path, expected) = f.Chance(0.85) ? ("/c/" + f.Pick(offer.LinkCodes), offer) : ("/c/" + t.Offers[0].LinkCodes[0], t.Offers[0]);
        return Click(f, index, "GET /c/{code}?url= (deep links)", path, ps, expected);
    }

    private AbuseRequest SmartLinkClick(Fuzz f, int index)
    {
        var roll = f.Next(100);
        TrackedSmartLink? smart = null;
        string code;
        if (roll < 85 && t.SmartLinks.Count > 0) { smart = f.Chance(0.85) ? t.SmartLinks[0] : f.Pick(t.SmartLinks); code = smart.Code; }
        else if (roll < 93) code = f.UnknownUlid()[..10];
        else code = f.Pick(CraftedCodes);
        var ps = ClickParams(f);
        if (f.Chance(0.3)) ps.Add(("url", f.Pick(DeepUrls())));
        var b = Browser(f, new RequestBuilder(f.Weighted((95, "GET"), (5, "HEAD")), "/s/" + code + (ps.Count == 0 ? "" : "?" + f.Query(ps))));
        if (f.Chance(0.3)) b.Header("User-Agent", f.Pick(new[]
        {
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X)",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "iPhone Android Windows Macintosh",
        }));
        return Build(b, index, "GET /s/{code} (smart links)", Family.Click, expected: null) is var r && smart is not null
            ? new AbuseRequest
            {
                Index = r.Index, Endpoint = r.Endpoint, Family = r.Family, Bytes = r.Bytes, Method = r.Method, Target = r.Target, Head = r.Head,
                OneShot = r.OneShot, WellFormed = r.WellFormed, ExpectedSmartLink = smart,
            }
            : r;
    }

    // ---- creatives and product feeds: uploads with the bytes of other things ----

    private AbuseRequest Upload(Fuzz f, int index)
    {
        var image = f.Chance(0.5);
        var path = image
            ? $"/api/v1/offers/{WriteId(f, t.SacrificialOfferId)}/creatives/images" + (f.Chance(0.5) ? "?" + f.Query([("name", f.Chance(0.5) ? f.Word() : f.Nasty())]) : "")
            : $"/api/v1/product-feeds/{WriteId(f, t.SacrificialFeedId)}/products";
        var b = new RequestBuilder(f.Weighted((90, image ? "POST" : "PUT"), (10, f.Pick(Payloads.Methods))), path) { Host = t.HostHeader };
        Authenticate(f, b);
        var (type, body) = image ? ImageBody(f) : FeedBody(f);
        if (type.Length > 0) b.Header("Content-Type", type);
        b.Body(body);
        return Build(b, index, image ? "POST /api/v1/offers/{id}/creatives/images" : "PUT /api/v1/product-feeds/{id}/products", Family.Api,
            abortAfter: body.Length > 200 && f.Chance(0.03) ? body.Length / 2 : -1);
    }

    private static readonly byte[] PngHeader = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R', 0, 0, 1, 44, 0, 0, 0, 250, 8, 2, 0, 0, 0];

    private static (string Type, byte[] Body) ImageBody(Fuzz f) => f.Next(10) switch
    {
        0 => ("image/png", PngHeader),
        1 => ("image/jpeg", PngHeader),
        2 => ("image/svg+xml", Encoding.UTF8.GetBytes("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>")),
        3 => ("image/png", Encoding.UTF8.GetBytes("<html><script>abuse()</script></html>")),
        4 => ("image/gif", [.. "GIF89a"u8, 0xFF, 0xFF, 0xFF, 0xFF]),
        5 => ("image/webp", [.. "RIFF"u8, 0, 0, 0, 0, .. "WEBPVP8X"u8, .. new byte[20]]),
        6 => ("multipart/form-data; boundary=b", Encoding.UTF8.GetBytes("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n\u0089PNG\r\n--b--\r\n")),
        7 => ("multipart/form-data; boundary=b", Encoding.UTF8.GetBytes("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nnot closed")),
        8 => (f.Pick(Payloads.ContentTypes), [.. PngHeader, .. new byte[f.Next(0, 3) * 1024 * 1024]]),
        _ => ("", new byte[f.Next(0, 64)]),
    };

    private (string Type, byte[] Body) FeedBody(Fuzz f)
    {
        var shop = $"https://shop.{t.Tag}.example";
        return f.Next(10) switch
        {
            0 => ("text/csv", Encoding.UTF8.GetBytes($"id,name,price,url\n1,{f.Nasty()},{f.Amount()},{shop}/1\n2,ok,1.00,{f.Pick(DeepUrls())}\n")),
            1 => ("text/csv", Encoding.UTF8.GetBytes("id,name,price,url\n" + new string('x', f.Pick(new[] { 70_000, 2_000_000 })) + "\n")),
            2 => ("application/xml", Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
                + "<yml_catalog><shop><offers><offer id=\"1\"><name>&b;</name></offer></offers></shop></yml_catalog>")),
            3 => ("application/xml", Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?><!DOCTYPE x SYSTEM \"file:///etc/passwd\"><yml_catalog><shop><offers>"
                + $"<offer id=\"1\"><url>{shop}/1</url><price>1</price><name>&xxe;</name></offer></offers></shop></yml_catalog>")),
            4 => ("application/xml", Encoding.UTF8.GetBytes($"<rss xmlns:g=\"http://base.google.com/ns/1.0\"><channel><item><g:id>{f.Nasty()}</g:id><title>t</title>"
                + $"<link>{System.Security.SecurityElement.Escape(f.Pick(DeepUrls()))}</link><g:price>{f.Amount()} USD</g:price></item></channel></rss>")),
            5 => ("text/csv", [.. "id,name,price,url\n1,caf"u8, 0xC3, 0x28, .. Encoding.UTF8.GetBytes($",1,{shop}/1\n")]),
            6 => ("application/xml", Encoding.UTF8.GetBytes("<yml_catalog><shop><offers><offer id=\"1\"><name>x</offer>")),
            7 => ("", []),
            8 => (f.Pick(Payloads.ContentTypes), Encoding.UTF8.GetBytes(f.Nasty())),
            _ => ("text/csv", Encoding.UTF8.GetBytes("\uFEFFname;id;price;url;currency\n" + string.Join("\n",
                Enumerable.Range(0, f.Next(1, 200)).Select(i => $"p{i};{i};{f.Amount()};{shop}/{i};{f.Pick(new[] { "USD", "RUR", "XX", "" })}")))),
        };
    }

    /// Management routes of smart links, creatives and product feeds (the JSON ones; uploads are above).
    private Api LinksThatSellApi(Fuzz f) => f.Weighted<Func<Fuzz, Api>>(
        (2, f => new("POST", "/smart-links", "/smart-links", SmartLinkBody(f))),
        (1, _ => new("GET", "/smart-links", "/smart-links")),
        (1, f => new("GET", "/smart-links/{id}", "/smart-links/" + ReadId(f, t.SacrificialSmartLinkId))),
        (2, f => new("PATCH", "/smart-links/{id}", "/smart-links/" + WriteId(f, t.SacrificialSmartLinkId), SmartLinkBody(f))),
        (1, f => new("GET", "/offers/{id}/creatives", $"/offers/{ReadId(f, t.Offers[0].Id)}/creatives", Query: f.Query(Filters(f, ("link_id", Id(f, 1)))))),
        (2, f => new("POST", "/offers/{id}/creatives", $"/offers/{WriteId(f, t.SacrificialOfferId)}/creatives",
            [("kind", Str(f.Pick(new[] { "text", "html", "image", "x" }))), ("name", Str(f.Chance(0.7) ? "abuse" : f.Nasty())),
             ("body", Str(f.Chance(0.5) ? "<a href=\"{tracking_url}\">{aff_id}</a>" : f.Nasty()))])),
        (1, f => new("DELETE", "/creatives/{id}", "/creatives/" + WriteId(f, f.NoSuchId()))),
        (1, f => new("GET", "/offers/{id}/product-feeds", $"/offers/{ReadId(f, t.SacrificialOfferId)}/product-feeds")),
        (1, f => new("POST", "/offers/{id}/product-feeds", $"/offers/{WriteId(f, t.SacrificialOfferId)}/product-feeds",
            [("name", Str(f.Chance(0.7) ? "abuse feed" : f.Nasty())), ("source_url", Str(f.Chance(0.5) ? "http://127.0.0.1:1/feed" : f.Pick(DeepUrls()))),
             ("fetch_every_hours", f.Pick(new[] { "1", "0", "169", "-1", "\"x\"", "null" }))])),
        (1, f => new("GET", "/product-feeds/{id}", "/product-feeds/" + ReadId(f, t.SacrificialFeedId))),
        (1, f => new("POST", "/product-feeds/{id}/fetch", $"/product-feeds/{WriteId(f, f.NoSuchId())}/fetch")),
        (2, f => new("GET", "/product-feeds/{id}/download", $"/product-feeds/{ReadId(f, t.SacrificialFeedId)}/download",
            Query: f.Query(Filters(f, ("format", f.Pick(new[] { "csv", "yml", "google", "pdf" })), ("sub1", f.Word()), ("link_id", Id(f, 1))))))
    )(f);

    private List<(string Key, string Raw)> SmartLinkBody(Fuzz f)
    {
        var offer = f.Chance(0.8) ? t.SacrificialOfferId.ToString() : f.Pick(Payloads.Ids);
        var rule = $"{{\"countries\":[{Str(f.Pick(Payloads.Countries))}],\"device_types\":[{Str(f.Pick(new[] { "mobile", "desktop", "tv", "" }))}],"
                 + $"\"os\":[{Str(f.Pick(new[] { "ios", "android", "beos" }))}],\"offers\":[{{\"offer_id\":{offer},\"weight\":{f.Pick(new[] { "1", "0", "1001", "-5", "\"2\"" })}}}]}}";
        return
        [
            ("publisher_id", f.Chance(0.8) ? t.SacrificialPublisherId.ToString() : f.Pick(Payloads.Ids)),
            ("name", Str(f.Chance(0.7) ? "abuse smart" : f.Nasty())),
            ("rules", f.Weighted((70, $"[{rule}]"), (10, "[]"), (10, "[" + string.Join(",", Enumerable.Repeat(rule, 60)) + "]"), (10, Str(f.Nasty())))),
            ("fallback_url", Str(f.Chance(0.6) ? $"https://fb.{t.Tag}.example/" : f.Pick(DeepUrls()))),
        ];
    }
}
