using System.Text;

namespace AffiliateTracker.Abuse;

/// Request N of a run, from the seed and N alone: clicks on every kind of link with hostile
/// parameters and redirect attempts, postbacks and pixels with broken amounts and encodings, every
/// management endpoint with broken JSON and queries, reconciliation uploads with broken CSV, and
/// requests that are not valid HTTP at all.
///
/// It never changes what the checks rely on, and never touches records of other users of the same
/// database (the integration suite runs next to other tests): writes go to this run's sacrificial
/// records, to ids that cannot exist, or are malformed; payout runs get a period end long past.
public sealed partial class RequestGenerator(AbuseTarget t)
{
    public AbuseRequest Next(int index)
    {
        var f = new Fuzz(t.Seed, index);
        return f.Weighted<Func<Fuzz, int, AbuseRequest>>(
            (24, ClickByCode), (6, ClickByIds), (3, ProbeClick), (4, DeepLinkClick), (3, SmartLinkClick), (24, Postback), (5, Pixel), (3, Misc),
            (27, Management), (3, Reconciliation), (2, Upload), (5, Malformed))(f, index);
    }

    // ---- clicks ----

    private static readonly string[] RedirectNames =
        ["url", "redirect", "redirect_uri", "redirect_url", "next", "return", "returnTo", "return_url", "dest", "destination", "continue",
         "r", "u", "goto", "target", "to", "out", "link", "lp", "landing", "landing_url", "fallback_url", "click_id", "offer_id", "aff_id"];

    private static readonly string[] SubNames = ["sub1", "sub2", "sub3", "sub4", "sub5", "source"];

    private static readonly string[] CraftedCodes =
    [
        "%2F%2Fevil.example", "@evil.example", "..%2F..%2Fapi%2Fv1%2Fme", "evil.example%23", "%5C%5Cevil.example", "%00", "%", "%zz",
        "%C0%AF", "%ED%A0%80", "%E2%80%AE", "%20", "%0D%0A" + Payloads.InjectedHeader + ":1", ".", "..", "%2e%2e", "~", "a;b", "a%3Bb",
        "%F0%9F%98%80", "%2F", "%252F", "https:%2F%2Fevil.example", "'%20OR%201=1--", "/evil.example", "//evil.example", "\\evil.example",
        "%5Cevil.example", "evil.example@", "@", ":@evil.example",
    ];

    private List<(string, string)> ClickParams(Fuzz f)
    {
        var ps = new List<(string, string)>();
        var n = f.Weighted((30, 0), (30, 1), (20, 3), (15, 6), (5, 12));
        for (var i = 0; i < n; i++)
        {
            var name = f.Weighted((70, f.Pick(SubNames)), (20, f.Pick(RedirectNames)), (5, f.Pick(new[] { "SUB1", "Sub2", "sub1[]", "sub1[0]", "sub 1", "", "sub6", "sub0" })), (5, f.Nasty()));
            var value = f.Weighted((45, f.Word()), (45, f.Nasty()), (10, f.Pick(Payloads.Strings.Where(s => s.Contains("evil")).ToArray())));
            ps.Add((name, value));
        }
        if (ps.Count > 0 && f.Chance(0.1)) ps.Add((ps[0].Item1, f.Nasty())); // repeated parameter
        // What the click cost: good, negative, absurd, malformed, in an unknown currency.
        if (f.Chance(0.05)) ps.Add(("cost", f.Pick(new[] { "0.05", "0", "-1", "1e3", "abc", "999999", "0.1234567", "1,5", f.Nasty() })));
        if (f.Chance(0.02)) ps.Add(("cost_currency", f.Pick(new[] { "EUR", "XXX", "usd", f.Nasty() })));
        if (f.Chance(0.03)) ps.Add(("sub1", new string('s', f.Pick(new[] { 6_000, 7_900, 9_000, 40_000 })))); // up to and past the request-line limit
        return ps;
    }

    private RequestBuilder Browser(Fuzz f, RequestBuilder b, bool cleanHeaders = false)
    {
        b.Host = f.Chance(cleanHeaders ? 0 : 0.03) ? f.Pick(new[] { "evil.example", "evil.example:80", "localhost", "127.0.0.1:1" }) : t.HostHeader;
        var ua = f.Chance(0.85) ? Payloads.UserAgents[0] : f.Pick(Payloads.UserAgents);
        if (ua.Length > 0 || f.Chance(0.5)) b.HeaderUtf8("User-Agent", ua);
        if (f.Chance(0.3)) b.Header("Accept", "text/html,application/xhtml+xml");
        if (f.Chance(0.15)) b.HeaderUtf8("CF-IPCountry", f.Pick(Payloads.Countries));
        if (cleanHeaders) return b;
        if (f.Chance(0.08)) b.HeaderUtf8("Referer", f.Chance(0.5) ? f.Nasty() : "https://evil.example/" + new string('r', 3000));
        if (f.Chance(0.05)) b.Header("X-Forwarded-Host", "evil.example");
        if (f.Chance(0.03)) b.Header("X-Forwarded-Proto", "javascript");
        if (f.Chance(0.05)) b.HeaderUtf8("Cookie", f.Pick(new[] { "atc_1=junk", "atc_=;;==", "a=" + new string('c', 4000), "atc_9=" + f.UnknownUlid(), f.Nasty() }));
        return b;
    }

    private AbuseRequest ClickByCode(Fuzz f, int index)
    {
        TrackedOffer? expected = null;
        string code;
        var roll = f.Next(100);
        if (roll < 75)
        {
            var offer = f.Chance(0.5) ? t.Offers[0] : f.Pick(t.Offers.Except(t.ProbeOffers).ToList());
            code = f.Pick(offer.LinkCodes);
            expected = offer;
        }
        else if (roll < 85) code = f.UnknownUlid()[..10];
        else if (roll < 95) code = f.Pick(CraftedCodes);
        else code = WireText.Encode(f.Nasty(), f.Encoding(), f.Rng);
        if (code.Length == 0) code = "%20";
        return Click(f, index, "GET /c/{code}", "/c/" + code, ClickParams(f), expected);
    }

    private AbuseRequest ClickByIds(Fuzz f, int index)
    {
        var ps = new List<(string, string)>();
        string Id(long own) => f.Weighted((75, own.ToString()), (10, f.NoSuchId().ToString()), (15, f.Pick(Payloads.Ids)));
        ps.Add(("offer_id", Id(f.Pick(t.Offers).Id)));
        ps.Add(("aff_id", Id(t.PublisherId)));
        if (f.Chance(0.05)) ps.Add((f.Pick(new[] { "offer_id", "aff_id", "OFFER_ID" }), Id(f.Pick(t.Offers).Id)));
        ps.AddRange(ClickParams(f));
        if (f.Chance(0.2)) ps.Reverse();
        return Click(f, index, "GET /click", "/click", ps, null);
    }

    private AbuseRequest ProbeClick(Fuzz f, int index)
    {
        if (t.ProbeOffers.Count == 0) return ClickByCode(f, index);
        var offer = f.Pick(t.ProbeOffers);
        var ps = new List<(string, string)> { ("sub1", f.Pick(Payloads.Strings.Where(s => s.Contains("evil") || s.Contains('\r') || s.Contains('/')).ToArray())), ("sub2", f.Nasty()) };
        return Click(f, index, "GET /c/{code} (landing-URL probes)", "/c/" + f.Pick(offer.LinkCodes), ps, offer);
    }

    private AbuseRequest Click(Fuzz f, int index, string endpoint, string path, List<(string, string)> ps, TrackedOffer? expected)
    {
        var query = ps.Count == 0 ? "" : "?" + f.Query(ps);
        var method = f.Weighted((94, "GET"), (3, "HEAD"), (3, f.Pick(Payloads.Methods)));
        var b = Browser(f, new RequestBuilder(method, path + query));
        if (method is "POST" or "PUT" or "PATCH" && f.Chance(0.5)) b.Header("Content-Type", "application/x-www-form-urlencoded").Body("sub1=posted&url=https%3A%2F%2Fevil.example");
        return Build(b, index, endpoint, Family.Click, expected: expected);
    }

    /// A plain click on one of the run's links, made during setup to have clicks to convert.
    public static AbuseRequest SetupClick(AbuseTarget t, TrackedOffer offer, int index, int n)
    {
        var b = new RequestBuilder("GET", $"/c/{offer.LinkCodes[0]}?sub1=setup-{n}&sub2=pool&source=abuse") { Host = t.HostHeader };
        b.Header("User-Agent", $"Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0 abuse-setup-{n}");
        return new AbuseRequest { Index = index, Endpoint = "setup: GET /c/{code}", Family = Family.Click, Bytes = b.Build(), Method = "GET", Target = b.Target, ExpectedOffer = offer };
    }

    private static AbuseRequest Build(RequestBuilder b, int index, string endpoint, Family family, bool oneShot = false, bool wellFormed = true,
        TrackedOffer? expected = null, bool pixelContract = false, int abortAfter = -1) =>
        new()
        {
            Index = index, Endpoint = endpoint, Family = family, Bytes = b.Build(), Method = b.Method, Target = b.Target,
            Head = b.Method == "HEAD", OneShot = oneShot || b.Smuggles || b.Method is "CONNECT", WellFormed = wellFormed && !b.Smuggles, ExpectedOffer = expected,
            PixelContract = pixelContract, AbortAfter = abortAfter,
        };

    // ---- postbacks and the pixel ----

    private List<(string Name, string Value)> ConversionParams(Fuzz f, bool pixel, int index)
    {
        var ps = new List<(string, string)>();
        if (!pixel)
        {
            var clickName = f.Weighted((70, "click_id"), (20, f.Pick(new[] { "transaction_id", "clickid", "cid", "subid" })), (10, f.Pick(new[] { "CLICK_ID", "Click_Id", "click id", "click_id[]" })));
            var clickId = f.Weighted((85, f.Pick(t.PostbackClicks)), (5, f.UnknownUlid()), (3, f.Pick(t.PostbackClicks).ToLowerInvariant()),
                (7, f.Nasty()));
            if (!f.Chance(0.02)) ps.Add((clickName, clickId));
            var token = f.Weighted((83, ("token", t.PostbackToken)), (4, ("security_token", t.PostbackToken)), (4, ("token", "pbt_wrong")),
                (3, ("TOKEN", t.PostbackToken)), (3, ("token", f.Nasty())), (3, ("x", "")));
            if (token.Item1 != "x") ps.Add(token);
        }
        else ps.Add(("offer_id", f.Weighted((85, t.PixelOffer!.Id.ToString()), (5, t.Offers[0].Id.ToString()), (10, f.Pick(Payloads.Ids)))));

        var goal = f.Weighted((50, (string?)null), (25, "sale"), (15, "lead"), (10, f.Nasty()));
        if (goal is not null) ps.Add(("goal", goal));
        if (!f.Chance(0.1)) ps.Add((f.Chance(0.9) ? "amount" : "sale_amount", f.Amount()));
        var currency = f.Weighted((80, (string?)null), (8, f.Pick(new[] { "USD", "usd" })), (6, AbuseTarget.OwnCurrencies[0]), (6, f.Pick(new[] { "EUR", "XXXX", "U$D", "", "üsd", "QQZ" })));
        if (currency is not null) ps.Add(("currency", currency));
        var txid = f.Weighted((80, $"t{t.Seed}-{index}"), (10, $"dup-{t.Seed}-{f.Next(40)}"), (10, f.Nasty()));
        ps.Add((f.Weighted((85, "txid"), (5, "adv_sub"), (5, "order_id"), (5, "TXID")), txid));
        if (!pixel || f.Chance(0.2))
        {
            var status = f.Weighted((85, (string?)null), (8, f.Pick(new[] { "approved", "rejected" })), (3, f.Pick(new[] { "APPROVED", "pending" })), (4, f.Nasty()));
            if (status is not null)
            {
                ps.Add(("status", status));
                if (f.Chance(0.5)) ps.Add((f.Chance(0.8) ? "reason" : "comment", f.Nasty()));
            }
        }
        for (var junk = f.Weighted((80, 0), (15, 1), (5, 3)); junk > 0; junk--) ps.Add((f.Chance(0.5) ? f.Nasty() : f.Word(), f.Nasty()));
        if (f.Chance(0.08) && ps.Count > 0) { var p = f.Pick(ps); ps.Insert(f.Next(ps.Count + 1), (p.Item1, f.Chance(0.5) ? f.Amount() : f.Nasty())); }
        return ps;
    }

    private AbuseRequest Postback(Fuzz f, int index)
    {
        var ps = ConversionParams(f, pixel: false, index);
        var how = f.Weighted((70, "query"), (10, "form"), (12, "json"), (4, "mixed"), (4, "other"));
        if (how == "query")
        {
            var method = f.Weighted((96, "GET"), (2, "HEAD"), (2, f.Pick(Payloads.Methods)));
            var b = Server(f, new RequestBuilder(method, "/postback?" + f.Query(ps)));
            return Build(b, index, method is "GET" or "HEAD" ? "GET /postback" : "other methods /postback", Family.Postback);
        }
        var query = how == "mixed" ? f.Query(ps.Take(ps.Count / 2)) : "";
        var body = how == "mixed" ? ps.Skip(ps.Count / 2).ToList() : ps;
        var post = Server(f, new RequestBuilder("POST", "/postback" + (query.Length > 0 ? "?" + query : "")));
        switch (how)
        {
            case "form" or "mixed":
                post.Header("Content-Type", f.Chance(0.9) ? "application/x-www-form-urlencoded" : "application/x-www-form-urlencoded; charset=latin1")
                    .Body(WireText.Latin1(f.Query(body)));
                break;
            case "json":
                var fields = body.Select(p => (p.Name, p.Name == "amount" && f.Chance(0.4) && p.Value.Length < 40 ? p.Value : JsonFuzz.Str(p.Value))).ToList();
                post.Header("Content-Type", f.Chance(0.9) ? "application/json" : f.Pick(Payloads.ContentTypes))
                    .Body(JsonFuzz.Body(f, fields, f.Weighted((70, 0), (20, 1), (10, 3))));
                break;
            default:
                var (ct, bytes) = f.Next(6) switch
                {
                    0 => ("text/plain", WireText.Utf8("click_id=" + t.PostbackClicks[0])),
                    1 => ("application/xml", WireText.Utf8("<postback><click_id>x</click_id></postback>")),
                    2 => ("multipart/form-data; boundary=abuse", WireText.Utf8("--abuse\r\nContent-Disposition: form-data; name=\"click_id\"\r\n\r\nx\r\n--abuse--\r\n")),
                    3 => ("", WireText.Utf8("click_id=x")),
                    4 => ("application/json", WireText.Utf8("{\"click_id\":\"" + new string('a', 70_000) + "\"}")),
                    _ => ("application/x-www-form-urlencoded", WireText.Utf8(new string('a', f.Pick(new[] { 65_536, 65_537, 200_000 })))),
                };
                if (ct.Length > 0) post.Header("Content-Type", ct);
                post.Body(bytes);
                break;
        }
        return Build(post, index, "POST /postback", Family.Postback);
    }

    /// A server-to-server caller: no browser headers, sometimes a signature instead of a token.
    private RequestBuilder Server(Fuzz f, RequestBuilder b)
    {
        b.Host = t.HostHeader;
        if (f.Chance(0.7)) b.Header("User-Agent", "advertiser-backend/1.0");
        if (f.Chance(0.05)) b.HeaderUtf8("X-Signature", f.Pick(new[] { "sha256=" + new string('0', 64), "sha256=zz", "", "md5=abc", f.Nasty() }));
        if (f.Chance(0.03)) b.Header("X-Forwarded-For", f.Pick(new[] { "127.0.0.1", "::1, 10.0.0.1", "not-an-ip", "999.999.999.999" }));
        return b;
    }

    private AbuseRequest Pixel(Fuzz f, int index)
    {
        var ps = ConversionParams(f, pixel: true, index);
        var method = f.Weighted((95, "GET"), (5, f.Pick(Payloads.Methods)));
        var b = new RequestBuilder(method, "/pixel?" + f.Query(ps)) { Host = t.HostHeader };
        b.Header("User-Agent", Payloads.UserAgents[f.Next(2)]);
        var offer = t.PixelOffer!.Id;
        var cookie = f.Weighted((70, $"atc_{offer}={f.Pick(t.PixelClicks)}"), (6, $"atc_{offer}={f.UnknownUlid()}"), (5, $"atc_{offer}=junk"),
            (5, $"atc_{t.Offers[0].Id}={f.Pick(t.PixelClicks)}"), (4, "atc_=;;=="), (4, $"atc_{offer}={f.Pick(t.PixelClicks)}; atc_{offer}={f.UnknownUlid()}"),
            (3, (string?)null), (3, "a=" + new string('c', 3000)));
        if (cookie is not null) b.Header("Cookie", cookie);
        var contract = method == "GET" && !f.Dirty && b.Target.Length < 6_000;
        return Build(b, index, method == "GET" ? "GET /pixel" : "other methods /pixel", Family.Pixel, pixelContract: contract);
    }

    // ---- health, docs, paths nobody serves ----

    private AbuseRequest Misc(Fuzz f, int index)
    {
        var (endpoint, target) = f.Weighted(
            (50, ("GET /health", "/health")),
            (10, ("GET /health", "/health?" + f.Query([(f.Nasty(), f.Nasty())]))),
            (5, ("GET /openapi/v1.json", "/openapi/v1.json")),
            (35, ("unknown paths", f.Pick(new[]
            {
                "/..%2F..%2Fetc%2Fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "//", "/c", "/c/", "/postback/x", "/api/v1", "/api/v2/offers", "/API/V1/ME",
                "/api/v1/me/", "/api/v1//offers", "/favicon.ico", "/.env", "/.git/config", "/wp-admin", "/demo/shop?product=" + WireText.Escape(f.Nasty()),
                "/" + new string('a', f.Pick(new[] { 300, 5_000, 8_000, 9_000 })), "/%00", "/%C0%AE%C0%AE/", "/" + WireText.Encode(f.Nasty(), f.Encoding(), f.Rng),
                "/health/..", "/pixel/../health", "/c/%2e%2e/health",
            }))));
        var method = f.Weighted((90, "GET"), (5, "HEAD"), (5, f.Pick(Payloads.Methods)));
        var b = Browser(f, new RequestBuilder(method, target));
        return Build(b, index, method is "GET" or "HEAD" ? endpoint : "other methods " + endpoint.Split(' ')[1], Family.Health);
    }
}
