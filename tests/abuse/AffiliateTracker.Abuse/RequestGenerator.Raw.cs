using System.Text;

namespace AffiliateTracker.Abuse;

public sealed partial class RequestGenerator
{
    // ---- reconciliation uploads ----

    private AbuseRequest Reconciliation(Fuzz f, int index)
    {
        var advertiser = f.Weighted((70, t.AdvertiserId.ToString()), (10, t.SacrificialAdvertiserId.ToString()), (10, f.NoSuchId().ToString()), (10, WireText.Escape(f.Pick(Payloads.Ids))));
        var ps = new List<(string, string)>();
        var key = f.Weighted((80, t.AdminKey), (15, t.AdvertiserKey), (5, t.PublisherKey));
        if (key == t.AdminKey || f.Chance(0.2)) ps.Add(("advertiser_id", advertiser));
        if (f.Chance(0.3)) ps.Add(("from", Date(f)));
        if (f.Chance(0.3)) ps.Add(("to", Date(f)));
        if (f.Chance(0.1)) ps.Add(("offer_id", Id(f, t.Offers[0].Id)));
        var b = new RequestBuilder("POST", "/api/v1/reconciliations" + (ps.Count > 0 ? "?" + f.Query(ps) : "")) { Host = t.HostHeader };
        b.Header("Authorization", "Bearer " + key);
        var ct = f.Chance(0.8) ? "text/csv" : f.Pick(new[] { "text/plain", "application/octet-stream", "application/json", "", "text/csv; charset=latin1", "multipart/form-data; boundary=x", "text/csvx" });
        if (ct.Length > 0) b.Header("Content-Type", ct);
        b.Body(Csv(f, index));
        var abort = f.Chance(0.03) && b.BodyLength > 200 ? b.BodyLength / 2 : -1;
        return Build(b, index, "POST /api/v1/reconciliations", Family.Reconciliation, abortAfter: abort);
    }

    private byte[] Csv(Fuzz f, int index)
    {
        var newline = f.Weighted((70, "\n"), (20, "\r\n"), (5, "\r"), (5, "\n\r"));
        var header = f.Weighted((60, "txid,status,amount"), (20, "txid,status,amount,date"), (4, "TXID , Status ,AMOUNT"), (3, "order_id,status,sale_amount"),
            (3, "\uFEFFtxid,status"), (2, "amount,status"), (2, ""), (2, "\"txid\",\"status\""), (2, "\"txid,status"), (2, f.Nasty()));
        var sb = new StringBuilder(header);
        var rows = f.Weighted((10, 0), (40, 1), (30, 5), (15, 50), (4, 500), (1, 5000));
        for (var i = 0; i < rows; i++)
        {
            sb.Append(newline);
            var txid = f.Weighted((50, $"t{t.Seed}-{f.Next(Math.Max(1, index))}"), (30, $"dup-{t.Seed}-{f.Next(40)}"), (20, $"theirs-{f.Next(1_000_000)}"));
            var status = f.Pick(new[] { "approved", "rejected", "pending", "Confirmed", "REFUNDED", "hold" });
            var amount = f.Chance(0.8) ? (f.Next(0, 100_000) / 100m).ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
            var line = f.Chance(0.75) ? $"{txid},{status},{amount}" + (f.Chance(0.3) ? "," + DateTime.UtcNow.AddDays(-f.Next(30)).ToString("yyyy-MM-dd") : "") : BrokenCsvLine(f, txid, status);
            sb.Append(line);
        }
        if (f.Chance(0.5)) sb.Append(newline);
        var bytes = WireText.Utf8(sb.ToString());
        return f.Next(20) switch
        {
            0 => [.. bytes.Take(bytes.Length / 2), 0xFF, 0xFE, 0xC0, 0xAF, 0xED, 0xA0, 0x80, .. bytes.Skip(bytes.Length / 2)],
            1 => System.Text.Encoding.Unicode.GetPreamble().Concat(System.Text.Encoding.Unicode.GetBytes(sb.ToString())).ToArray(),
            2 => [.. bytes, .. Enumerable.Repeat((byte)0, 100)],
            3 => [],
            _ => bytes,
        };
    }

    private static string BrokenCsvLine(Fuzz f, string txid, string status) => f.Next(16) switch
    {
        0 => $"\"{txid},{status},1.00",                                // unterminated quote
        1 => $"\"{txid}\"x,{status},1.00",                             // text after a quoted field
        2 => txid,                                                      // too few columns
        3 => $"{txid},{status},1.00,2026-11-01,extra,extra,extra",      // too many
        4 => $"{txid}\u0000,{status},1.00",
        5 => $"{new string('t', 129)},{status},1.00",
        6 => $"{txid},{status},{f.Pick(Payloads.Amounts)}",
        7 => $"{txid},{status},1.00,{f.Pick(Payloads.Dates)}",
        8 => $"{txid},{f.Nasty()},1.00",
        9 => $"{f.Nasty()},{status},1.00",
        10 => ",,,,",
        11 => $"\"{txid}\"\"quoted\"\"\",{status},2.50",
        12 => new string('x', f.Pick(new[] { 10_000, 1_000_000 })),
        13 => $"{txid},\"{status}\",\"1,5\"",
        14 => "=HYPERLINK(\"https://evil.example\"),approved,1",
        _ => $"{txid}\t{status}\t1.00",
    };

    // ---- requests that are not valid HTTP/1.1 ----

    private AbuseRequest Malformed(Fuzz f, int index)
    {
        var code = t.Offers[0].LinkCodes[0];
        var path = f.Pick(new[] { $"/c/{code}", $"/click?offer_id={t.Offers[0].Id}&aff_id={t.PublisherId}", "/postback?click_id=x&token=y", "/pixel?offer_id=1", "/api/v1/me", "/health" });
        var host = "Host: " + t.HostHeader + "\r\n";
        var ua = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0\r\n";
        string Line(string target, string version = "HTTP/1.1", string method = "GET") => $"{method} {target} {version}\r\n";
        var (label, text) = f.Next(34) switch
        {
            0 => ("invalid percent-encoding in path", Line($"/c/{code}%zz") + host + "\r\n"),
            1 => ("invalid percent-encoding in path", Line("/c/%") + host + "\r\n"),
            2 => ("raw non-ASCII in path", Line($"/c/{code}\u00C0\u00AF") + host + "\r\n"),
            3 => ("raw non-ASCII in path", Line("/c/\u00ED\u00A0\u0080") + host + "\r\n"),
            4 => ("raw non-ASCII in query", Line($"/c/{code}?sub1=\u00FF\u00FE\u00C0\u00AF") + host + ua + "\r\n"),
            5 => ("bad request line", $"GET /c/{code}\r\n" + host + "\r\n"),
            6 => ("bad request line", $"GET  /c/{code} HTTP/1.1\r\n" + host + "\r\n"),
            7 => ("bad request line", Line(path) .Replace("HTTP/1.1", "HTTP/1.1 extra") + host + "\r\n"),
            8 => ("bad request line", Line(path, "HTTP/2.0") + host + "\r\n"),
            9 => ("HTTP/1.0", Line(path, "HTTP/1.0") + "\r\n"),
            10 => ("bad request line", Line(path, "HTTP/9.9") + host + "\r\n"),
            11 => ("bad request line", $"GET\t{path} HTTP/1.1\r\n" + host + "\r\n"),
            12 => ("NUL and CR in request line", Line($"/c/{code}\u0000") + host + "\r\n"),
            13 => ("NUL and CR in request line", $"GET /c/{code}\rX HTTP/1.1\r\n" + host + "\r\n"),
            14 => ("absolute-form and odd targets", Line($"http://evil.example/c/{code}") + host + ua + "\r\n"),
            15 => ("absolute-form and odd targets", Line("*", method: f.Pick(new[] { "GET", "OPTIONS" })) + host + "\r\n"),
            16 => ("absolute-form and odd targets", $"CONNECT evil.example:443 HTTP/1.1\r\n" + host + "\r\n"),
            17 => ("absolute-form and odd targets", Line("evil.example") + host + "\r\n"),
            18 => ("request line too long", Line($"/c/{code}?sub1=" + new string('a', f.Pick(new[] { 8_200, 20_000, 100_000 }))) + host + "\r\n"),
            19 => ("Host header missing or doubled", Line(path) + ua + "\r\n"),
            20 => ("Host header missing or doubled", Line(path) + host + "Host: evil.example\r\n\r\n"),
            21 => ("Host header missing or doubled", Line(path) + f.Pick(new[] { "Host: a b\r\n", "Host: evil.example:99999\r\n", "Host: \r\n", "Host: [::1\r\n", "Host: \u00FC.example\r\n" }) + "\r\n"),
            22 => ("malformed header line", Line(path) + host + f.Pick(new[] { "NoColon\r\n", "Bad Header: x\r\n", " folded: x\r\n", "X-A: a\r\n continued\r\n", ": empty\r\n", "X-Nul: a\u0000b\r\n", "X-Bare: a\rb\r\n", "X-Lf: a\nX-Abuse-Injected: 1\r\n" }) + "\r\n"),
            23 => ("headers too large", Line(path) + host + string.Concat(Enumerable.Range(0, f.Pick(new[] { 99, 150 })).Select(i => $"X-H{i}: v\r\n")) + "\r\n"),
            24 => ("headers too large", Line(path) + host + "Cookie: a=" + new string('c', f.Pick(new[] { 33_000, 70_000 })) + "\r\n\r\n"),
            25 => ("bad Content-Length", Line("/postback", method: "POST") + host + f.Pick(new[] { "Content-Length: -1\r\n", "Content-Length: abc\r\n", "Content-Length: 1, 2\r\n", "Content-Length: 3\r\nContent-Length: 4\r\n", "Content-Length: 99999999999999999999\r\n" }) + "\r\nabc"),
            26 => ("Content-Length and chunked", Line("/postback", method: "POST") + host + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n0\r\n\r\nGET /api/v1/me HTTP/1.1\r\n" + host + "\r\n"),
            27 => ("bad chunked body", Line("/api/v1/offers", method: "POST") + host + "Authorization: Bearer " + t.AdminKey + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + f.Pick(new[] { "zz\r\n{}\r\n0\r\n\r\n", "FFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n", "2\r\n{}XX0\r\n\r\n", "2;ext=\u0000\r\n{}\r\n0\r\n\r\n" })),
            28 => ("odd Transfer-Encoding", Line("/postback", method: "POST") + host + f.Pick(new[] { "Transfer-Encoding: gzip\r\n", "Transfer-Encoding: chunked, identity\r\n", "Transfer-Encoding: identity\r\n", "Transfer-Encoding:\tchunked\r\n" }) + "\r\n0\r\n\r\n"),
            29 => ("Expect headers", Line("/postback", method: "POST") + host + "Expect: " + f.Pick(new[] { "100-continue", "junk" }) + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\na=b&c"),
            30 => ("pipelined requests", Line(path) + host + "\r\n" + Line("/health") + host + "\r\n"),
            31 => ("lower-case and odd methods", Line(path, method: f.Pick(new[] { "get", "G\u00C9T", "GET\u0000", "" })) + host + "\r\n"),
            32 => ("Authorization with CR/LF", Line("/api/v1/me") + host + "Authorization: Bearer " + t.AdminKey + "\r\n" + Payloads.InjectedHeader + ": 1\r\n\r\n"),
            _ => ("raw binary", Encoding.Latin1.GetString(Enumerable.Range(0, f.Next(1, 300)).Select(_ => (byte)f.Next(256)).ToArray()) + "\r\n\r\n"),
        };
        return new AbuseRequest
        {
            Index = index, Endpoint = "raw: " + label, Family = Family.Malformed, Bytes = Encoding.Latin1.GetBytes(text), Method = "raw",
            Target = text.Length > 200 ? text[..200] : text, OneShot = true, WellFormed = false,
        };
    }
}
