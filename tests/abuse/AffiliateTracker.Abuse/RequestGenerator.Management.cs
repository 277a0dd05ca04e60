using System.Text;
using static AffiliateTracker.Abuse.JsonFuzz;

namespace AffiliateTracker.Abuse;

public sealed partial class RequestGenerator
{
    // Fixed: the body is sent exactly as given, never mutated (see PayoutRunBody).
    private sealed record Api(string Method, string Route, string Path, List<(string Key, string Raw)>? Body = null, string? Query = null, bool Fixed = false);

    private AbuseRequest Management(Fuzz f, int index)
    {
        var api = f.Weighted<Func<Fuzz, Api>>(
            (2, _ => new("GET", "/me", "/me")),
            (4, f => new("POST", "/advertisers", "/advertisers", AdvertiserBody(f))),
            (2, _ => new("GET", "/advertisers", "/advertisers")),
            (2, f => new("GET", "/advertisers/{id}", "/advertisers/" + ReadId(f, t.AdvertiserId))),
            (3, f => new("PATCH", "/advertisers/{id}", "/advertisers/" + WriteId(f, t.SacrificialAdvertiserId), AdvertiserBody(f, patch: true))),
            (1, f => new("POST", "/advertisers/{id}/postback-token", $"/advertisers/{WriteId(f, t.SacrificialAdvertiserId)}/postback-token")),
            (1, f => new("POST", "/advertisers/{id}/signing-key", $"/advertisers/{WriteId(f, t.SacrificialAdvertiserId)}/signing-key")),
            (3, f => new("POST", "/publishers", "/publishers", PublisherBody(f))),
            (2, f => new("GET", "/publishers/{id}", "/publishers/" + ReadId(f, t.PublisherId))),
            (1, _ => new("GET", "/publishers", "/publishers")),
            (3, f => new("PATCH", "/publishers/{id}", "/publishers/" + WriteId(f, t.SacrificialPublisherId), PublisherBody(f))),
            (6, f => new("POST", "/offers", "/offers", OfferBody(f, patch: false))),
            (3, f => new("GET", "/offers", "/offers", Query: f.Query(Filters(f, ("advertiser_id", Id(f, t.AdvertiserId)), ("status", f.Pick(new[] { "active", "paused", "x" })))))),
            (2, f => new("GET", "/offers/{id}", "/offers/" + ReadId(f, t.Offers[0].Id))),
            (4, f => new("PATCH", "/offers/{id}", "/offers/" + WriteId(f, t.SacrificialOfferId), OfferBody(f, patch: true))),
            (3, f => new("PUT", "/offers/{id}/goals/{code}", $"/offers/{WriteId(f, t.SacrificialOfferId)}/goals/{GoalCode(f)}", GoalBody(f))),
            (3, f => new("PUT", "/offers/{id}/publishers/{id}", $"/offers/{WriteId(f, t.SacrificialOfferId)}/publishers/{WriteId(f, t.SacrificialPublisherId)}", AccessBody(f))),
            (1, f => new("DELETE", "/offers/{id}/publishers/{id}", $"/offers/{WriteId(f, t.SacrificialOfferId)}/publishers/{WriteId(f, f.NoSuchId())}")),
            (3, f => new("POST", "/links", "/links", LinkBody(f))),
            (2, f => new("GET", "/links", "/links", Query: f.Query(Filters(f, ("offer_id", Id(f, t.Offers[0].Id)), ("publisher_id", Id(f, t.PublisherId)))))),
            (1, f => new("GET", "/links/{id}", "/links/" + ReadId(f, t.SacrificialLinkId))),
            (2, f => new("PATCH", "/links/{id}", "/links/" + WriteId(f, t.SacrificialLinkId), [("status", f.Chance(0.7) ? Str(f.Pick(new[] { "active", "disabled" })) : Str(f.Nasty()))])),
            (2, f => new("POST", "/api-keys", "/api-keys", KeyBody(f))),
            (1, _ => new("GET", "/api-keys", "/api-keys")),
            (1, f => new("DELETE", "/api-keys/{id}", "/api-keys/" + WriteId(f, t.SacrificialKeyId))),
            (3, f => new("GET", "/stats/clicks", "/stats/clicks", Query: f.Query(Filters(f, ("from", Date(f)), ("to", Date(f)), ("offer_id", Id(f, t.Offers[0].Id)))))),
            (5, f => new("GET", "/conversions", "/conversions", Query: f.Query(Filters(f, ("offer_id", Id(f, t.Offers[0].Id)), ("publisher_id", Id(f, t.PublisherId)),
                ("status", f.Pick(new[] { "pending", "approved", "x" })), ("click_id", f.Pick(t.PostbackClicks)), ("txid", $"dup-{t.Seed}-{f.Next(40)}"),
                ("from", Date(f)), ("to", Date(f)), ("sub1", "setup-1"), ("sub2", f.Word()), ("sub3", f.Word()), ("sub4", f.Word()), ("sub5", f.Word()),
                ("limit", f.Pick(new[] { "1", "100", "1000", "100000", "-1", "0" })))))),
            (2, f => new("GET", "/conversions/{id}", "/conversions/" + WireText.Encode(f.Chance(0.5) ? f.UnknownUlid() : f.Nasty(), f.Encoding(), f.Rng))),
            (2, f => new("POST", "/conversions/{id}/status", $"/conversions/{WireText.Encode(f.Chance(0.5) ? f.UnknownUlid() : f.Nasty(), WireEncoding.Percent, f.Rng)}/status",
                [("status", Str(f.Pick(new[] { "approved", "rejected", "pending", "x" }))), ("reason", Str(f.Chance(0.5) ? "abuse suite" : f.Nasty()))])),
            (3, f => new("GET", "/postback-log", "/postback-log", Query: f.Query(Filters(f, ("click_id", f.Pick(t.PostbackClicks)), ("txid", $"t{t.Seed}-{f.Next(1000)}"),
                ("decision", f.Pick(new[] { "created", "duplicate", "bad_token" })), ("offer_id", Id(f, t.Offers[0].Id)), ("conversion_id", f.UnknownUlid()),
                ("from", Date(f)), ("to", Date(f)), ("limit", f.Pick(new[] { "1", "1000", "99999999999" })))))),
            (2, f => new("GET", "/publisher-postbacks", "/publisher-postbacks", Query: f.Query(Filters(f, ("publisher_id", Id(f, t.PublisherId)),
                ("conversion_id", f.UnknownUlid()), ("state", f.Pick(new[] { "pending", "delivered", "failed" })), ("limit", "5"))))),
            (2, f => new("PUT", "/currency-rates/{from}/{to}", $"/currency-rates/{Currency(f)}/{Currency(f)}",
                [("rate", f.Chance(0.6) ? Num(f.Next(1, 100_000) / 1000m) : f.Pick(new[] { "0", "-1", "1e400", "1000000000", "\"1.2\"", "null", "0.0000000000000000000000000001" }))])),
            (1, _ => new("GET", "/currency-rates", "/currency-rates")),
            (2, f => new("GET", "/balances", "/balances", Query: f.Query(Filters(f, ("publisher_id", Id(f, t.PublisherId)))))),
            (1, f => new("POST", "/payout-runs", "/payout-runs", PayoutRunBody(f), Fixed: true)),
            (1, _ => new("GET", "/payout-runs", "/payout-runs")),
            (1, f => new("GET", "/payout-runs/{id}", "/payout-runs/" + ReadId(f, f.Next(1, 50)))),
            (1, f => new("POST", "/payout-runs/{id}/approve|cancel", $"/payout-runs/{WriteId(f, f.NoSuchId())}/{f.Pick(new[] { "approve", "cancel" })}")),
            (1, f => new("POST", "/payout-runs/{id}/lines/{line}/paid", $"/payout-runs/{WriteId(f, f.NoSuchId())}/lines/{WriteId(f, f.NoSuchId())}/paid",
                [("payment_reference", Str(f.Chance(0.5) ? "WIRE-1" : f.Nasty()))])),
            (1, f => new("GET", "/payout-runs/{id}/export.csv", $"/payout-runs/{ReadId(f, f.Next(1, 50))}/export.csv")),
            (1, f => new("GET", "/payout-lines/{id}/items", $"/payout-lines/{ReadId(f, f.Next(1, 50))}/items")),
            (1, f => new("GET", "/reconciliations/{id}", "/reconciliations/" + ReadId(f, t.ReconciliationId))),
            (1, f => new("GET", "/reconciliations/{id}/items", $"/reconciliations/{ReadId(f, t.ReconciliationId)}/items", Query: f.Query(Filters(f,
                ("kind", f.Pick(new[] { "matched", "only_ours", "only_theirs", "x" })), ("limit", f.Pick(new[] { "1", "5000", "-5", "2147483648" })), ("offset", f.Pick(new[] { "0", "-1", "999999999" })))))),
            (1, f => new("POST", "/reconciliations/{id}/apply", $"/reconciliations/{WriteId(f, t.ReconciliationId)}/apply")),
            (4, f => new("GET", "/reports", "/reports", Query: f.Query(Filters(f, ("from", Date(f)), ("to", Date(f)), ("group_by", GroupBy(f)), ("tz", f.Pick(Payloads.TimeZones)))))),
            (0.3, _ => new("GET", "/ledger-check", "/ledger-check")),
            (6, LinksThatSellApi),
            (2, f => new("POST", "/costs", "/costs", [("publisher_id", f.Chance(0.8) ? t.SacrificialPublisherId.ToString() : f.Pick(Payloads.Ids)),
                ("costs", f.Chance(0.7) ? $"[{{\"day\":{Str(Date(f))},\"offer_id\":{t.SacrificialOfferId},\"sub1\":{Str(f.Word())},\"amount\":{Str(f.Amount())},\"currency\":{Str(f.Pick(new[] { "USD", "QQA", "XYZ", "" }))}}}]" : Str(f.Nasty()))])),
            (1, f => new("GET", "/costs", "/costs", Query: f.Query(Filters(f, ("from", Date(f)), ("to", Date(f)), ("offer_id", Id(f, t.Offers[0].Id)))))),
            (2, f => new(f.Pick(new[] { "DELETE", "PUT", "PATCH", "POST", "HEAD", "OPTIONS", "TRACE" }), "wrong method", f.Pick(new[] { "/me", "/offers", "/reports", "/ledger-check", "/balances", "/links/1" })))
        )(f);

        var path = "/api/v1" + api.Path + (api.Query is { Length: > 0 } q ? "?" + q : "");
        var b = new RequestBuilder(api.Method, path) { Host = t.HostHeader };
        b.Header("User-Agent", "abuse-suite/1.0");
        Authenticate(f, b);
        if (api.Body is not null)
        {
            var ct = f.Chance(0.88) || api.Fixed ? "application/json" : f.Pick(Payloads.ContentTypes);
            if (ct.Length > 0) b.Header("Content-Type", ct);
            b.Body(api.Fixed ? WireText.Utf8("{" + string.Join(",", api.Body.Select(p => Str(p.Key) + ":" + p.Raw)) + "}")
                : Body(f, api.Body, f.Weighted((25, 0), (45, 1), (20, 2), (10, 4))));
        }
        else if (api.Method is "POST" or "PUT" or "PATCH" && f.Chance(0.2))
        {
            b.Header("Content-Type", "application/json").Body(f.Chance(0.5) ? "{}" : "{\"unexpected\": [1, {\"deep\": null}]}");
        }
        // Now and then a body just over Kestrel's 30 MB limit: a 413, and the connection survives or is closed cleanly.
        if (api.Body is not null && !api.Fixed && f.Chance(0.0005)) b.Body(Enumerable.Repeat((byte)' ', 31 * 1024 * 1024).Append((byte)'1').ToArray());
        var endpoint = api.Route == "wrong method" ? "API wrong methods" : $"{api.Method} /api/v1{api.Route}";
        return Build(b, index, endpoint, Family.Api, abortAfter: b.BodyLength > 100 && f.Chance(0.005) ? b.BodyLength / 2 : -1);
    }

    private void Authenticate(Fuzz f, RequestBuilder b)
    {
        var (header, value) = f.Weighted(
            (75, ("Authorization", "Bearer " + t.AdminKey)), (5, ("Authorization", "Bearer " + t.AdvertiserKey)), (5, ("Authorization", "Bearer " + t.PublisherKey)),
            (2, ("Authorization", "Bearer " + t.SacrificialAdvertiserKey)), (2, ("Authorization", "Bearer " + t.SacrificialPublisherKey)),
            (2, ("X-Api-Key", t.AdminKey)), (1, ("Authorization", "bearer  " + t.AdminKey + "  ")), (2, ((string)"", (string)"")),
            (1, ("Authorization", "Bearer atk_" + f.UnknownUlid())), (1, ("Authorization", "Bearer " + new string('k', f.Pick(new[] { 199, 201, 8_000 })))),
            (1, ("Authorization", f.Pick(new[] { "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Token " + t.AdminKey, "Bearer " + t.AdminKey + "\u0000" }))),
            (1, ("Authorization", "Bearer " + f.Nasty())), (1, ("X-Api-Key", f.Nasty())));
        if (header.Length > 0) b.HeaderUtf8(header, value);
        if (f.Chance(0.02)) b.Header("Authorization", "Bearer " + t.PublisherKey); // a second, conflicting key
    }

    // ---- ids, dates and other query values ----

    /// An id for a read: usually a real one (reading other users' records is harmless), else absurd.
    private static string ReadId(Fuzz f, long real) => f.Weighted((60, real.ToString()), (15, f.Next(1, 100).ToString()), (10, f.NoSuchId().ToString()), (15, WireText.Escape(f.Pick(Payloads.Ids))));

    /// An id for a write: only this run's sacrificial record, one that cannot exist, or garbage.
    private static string WriteId(Fuzz f, long own) => f.Weighted((65, own.ToString()), (15, f.NoSuchId().ToString()), (20, WireText.Escape(f.Pick(Payloads.Ids))));

    private static string Id(Fuzz f, long real) => f.Weighted((60, real.ToString()), (10, f.NoSuchId().ToString()), (30, f.Pick(Payloads.Ids)));

    private static string Date(Fuzz f) => f.Chance(0.4)
        ? DateTime.UtcNow.Date.AddDays(f.Next(-400, 3)).ToString(f.Chance(0.5) ? "yyyy-MM-dd" : "O")
        : f.Pick(Payloads.Dates);

    private static string GroupBy(Fuzz f)
    {
        var dims = new[] { "day", "hour", "offer", "publisher", "goal", "country", "sub1", "sub2", "sub3", "sub4", "sub5", "smart_link", "smart_rule", "device_type", "os", "browser", "asn", "datacenter", "x", "", "day,day", "' OR 1=1" };
        return string.Join(f.Chance(0.9) ? "," : f.Pick(new[] { ";", " ", ",,", "%2C" }), Enumerable.Range(0, f.Next(1, 4)).Select(_ => f.Pick(dims)));
    }

    /// A random subset of a query's filters, some replaced with hostile values, sometimes repeated.
    private static List<(string, string)> Filters(Fuzz f, params (string Name, string Value)[] filters)
    {
        var ps = new List<(string, string)>();
        foreach (var (name, value) in filters)
        {
            if (!f.Chance(0.45)) continue;
            ps.Add((name, f.Chance(0.7) ? value : f.Nasty()));
            if (f.Chance(0.05)) ps.Add((name, f.Nasty()));
        }
        if (f.Chance(0.05)) ps.Add((f.Nasty(), f.Nasty()));
        return ps;
    }

    private static string Currency(Fuzz f) => f.Chance(0.6)
        ? f.Pick(AbuseTarget.OwnCurrencies)
        : WireText.Escape(f.Pick(new[] { "qqa", "QQ", "QQAA", "Q1A", "ÜSD", "%00", "", "../USD", "QQA%2FUSD", "Q Q" }));

    private static string GoalCode(Fuzz f) => f.Chance(0.6)
        ? f.Pick(new[] { "sale", "lead", "signup", "upsell-2" })
        : WireText.Escape(f.Pick(new[] { "SALE", "a b", new string('g', 51), "x.y", "ü", "%00", "sale%2F..", "' OR 1=1", "😀" }));

    // ---- bodies (valid first, mutated by JsonFuzz) ----

    private List<(string, string)> AdvertiserBody(Fuzz f, bool patch = false)
    {
        var body = new List<(string, string)> { ("name", Str($"{t.Tag} adv {f.Next(1_000_000)}" + (f.Chance(0.3) ? f.Nasty() : ""))) };
        if (f.Chance(0.5)) body.Add(("postback_ips", f.Chance(0.7) ? "[\"127.0.0.1\", \"::1\"]" : f.Pick(new[] { "[\"not-an-ip\"]", "[null]", "\"127.0.0.1\"", "[\"999.1.1.1\"]", "[\"::ffff:10.0.0.1\"]", "[\"10.0.0.0/8\"]" })));
        if (patch && f.Chance(0.5)) body.Add(("status", Str(f.Pick(new[] { "active", "suspended", "deleted", "" }))));
        return body;
    }

    private List<(string, string)> PublisherBody(Fuzz f) =>
    [
        ("name", Str($"{t.Tag} pub {f.Next(1_000_000)}" + (f.Chance(0.3) ? f.Nasty() : ""))),
        ("min_payout", f.Chance(0.7) ? Num(f.Next(0, 100_000) / 100m) : f.Pick(new[] { "-1", "1e400", "1000000001", "0.00001", "\"50\"" })),
        ("postback_url", Str(f.Chance(0.6) ? "https://pb.invalid/pb?cid={click_id}&payout={payout}" : f.Pick(Payloads.Urls))),
    ];

    private List<(string, string)> OfferBody(Fuzz f, bool patch)
    {
        var body = new List<(string, string)>();
        if (!patch) body.Add(("advertiser_id", f.Chance(0.9) ? t.SacrificialAdvertiserId.ToString() : f.Pick(new[] { "0", "-1", f.NoSuchId().ToString(), "\"1\"", "null" })));
        body.Add(("name", Str($"{t.Tag} fuzz offer {f.Next(1_000_000)}" + (f.Chance(0.3) ? f.Nasty() : ""))));
        body.Add(("landing_url", Str(f.Chance(0.6) ? $"https://sacrificial.{t.Tag}.example/land?cid={{click_id}}&s={{sub1}}" : f.Pick(Payloads.Urls))));
        if (f.Chance(0.5)) body.Add(("fallback_url", Str(f.Chance(0.6) ? $"https://fallback-sacrificial.{t.Tag}.example/" : f.Pick(Payloads.Urls))));
        if (f.Chance(0.4)) body.Add(("status", Str(f.Pick(new[] { "active", "paused", "deleted" }))));
        if (f.Chance(0.3)) body.Add(("currency", Str(f.Pick(new[] { "USD", "EUR", "usd", "US", "ÜSD" }))));
        if (f.Chance(0.3)) body.Add(("attribution_window_hours", f.Pick(new[] { "1", "720", "8760", "0", "8761", "-1", "2147483648" })));
        if (f.Chance(0.3)) body.Add(("hold_period_hours", f.Pick(new[] { "0", "720", "8761", "-5" })));
        if (f.Chance(0.2)) body.Add(("manual_approval", f.Pick(new[] { "true", "false", "\"yes\"", "1" })));
        if (f.Chance(0.2)) body.Add(("default_goal", Str(f.Pick(new[] { "sale", "lead", "nope" }))));
        foreach (var cap in new[] { "daily_click_cap", "monthly_click_cap", "daily_conversion_cap", "monthly_conversion_cap" })
            if (f.Chance(0.1)) body.Add((cap, f.Pick(new[] { "0", "100", "-1", "2147483647", "2147483648", "1.5" })));
        if (f.Chance(0.3)) body.Add(("allowed_countries", f.Pick(new[] { "[\"US\",\"de\"]", "[]", "[\"USA\"]", "[null]", "[\"\"]", "\"US\"", "[\"U\\u0000\"]" })));
        if (!patch || f.Chance(0.05))
        {
            var goals = Enumerable.Range(0, f.Weighted((70, 1), (20, 2), (7, 0), (3, 300)))
                .Select(i => "{" + string.Join(",", GoalBody(f, i == 0 ? "sale" : $"g{i}").Select(p => Str(p.Item1) + ":" + p.Item2)) + "}");
            body.Add(("goals", "[" + string.Join(",", goals) + "]"));
        }
        return body;
    }

    private static List<(string, string)> GoalBody(Fuzz f) => GoalBody(f, null);

    private static List<(string, string)> GoalBody(Fuzz f, string? code)
    {
        var type = f.Chance(0.9) ? f.Pick(new[] { "fixed", "percent" }) : f.Pick(new[] { "FIXED", "cpa", "", "percent " });
        var body = new List<(string, string)>();
        if (code is not null) body.Add(("code", Str(f.Chance(0.95) ? code : f.Pick(new[] { "SALE", "", "a b", new string('c', 51) }))));
        body.Add(("name", Str(f.Chance(0.8) ? "Goal" : f.Nasty())));
        body.Add(("payout_type", Str(type)));
        body.Add(("payout", f.Chance(0.8) ? Num(f.Next(0, 10_000) / 100m) : f.Pick(new[] { "-1", "100.01", "1000000000.0001", "1e400", "0.00001", "null", "\"5\"" })));
        if (f.Chance(0.5)) body.Add(("revenue_type", Str(type)));
        if (f.Chance(0.5)) body.Add(("revenue", Num(f.Next(0, 10_000) / 100m)));
        if (f.Chance(0.5)) body.Add(("once_per_click", f.Pick(new[] { "true", "false", "null", "0" })));
        return body;
    }

    private static List<(string, string)> AccessBody(Fuzz f)
    {
        var body = new List<(string, string)>();
        foreach (var cap in new[] { "daily_click_cap", "monthly_click_cap", "daily_conversion_cap", "monthly_conversion_cap" })
            if (f.Chance(0.3)) body.Add((cap, f.Pick(new[] { "0", "10", "-1", "2147483648", "null" })));
        if (f.Chance(0.5))
            body.Add(("payout_overrides", f.Chance(0.7)
                ? $"[{{\"goal\":\"{f.Pick(new[] { "sale", "lead", "nope", "SALE" })}\",\"payout_type\":\"{f.Pick(new[] { "fixed", "percent", "x" })}\",\"payout\":{f.Pick(new[] { "1.5", "101", "-1", "1e400" })}}}]"
                : f.Pick(new[] { "[null]", "[{}]", "{}", "[1]", "\"sale\"" })));
        return body;
    }

    private List<(string, string)> LinkBody(Fuzz f) =>
    [
        ("offer_id", f.Chance(0.8) ? t.SacrificialOfferId.ToString() : f.Pick(new[] { t.Offers[0].Id.ToString(), f.NoSuchId().ToString(), "-1", "\"1\"", "null" })),
        ("publisher_id", f.Chance(0.8) ? t.SacrificialPublisherId.ToString() : f.Pick(new[] { f.NoSuchId().ToString(), "0", "1e400", "null" })),
    ];

    private List<(string, string)> KeyBody(Fuzz f)
    {
        var role = f.Chance(0.8) ? f.Pick(new[] { "publisher", "advertiser", "admin" }) : f.Pick(new[] { "root", "ADMIN", "" });
        var body = new List<(string, string)> { ("role", Str(role)), ("name", Str(f.Chance(0.7) ? $"{t.Tag} key" : f.Nasty())) };
        if (role == "publisher" || f.Chance(0.1)) body.Add(("publisher_id", f.Chance(0.8) ? t.SacrificialPublisherId.ToString() : f.NoSuchId().ToString()));
        if (role == "advertiser" || f.Chance(0.1)) body.Add(("advertiser_id", f.Chance(0.8) ? t.SacrificialAdvertiserId.ToString() : f.NoSuchId().ToString()));
        return body;
    }

    /// A payout run with a period end long past, or a broken one: a run up to now would claim other
    /// users' approved conversions when the database is shared.
    private static List<(string, string)> PayoutRunBody(Fuzz f) =>
        [("period_end", f.Pick(new[] { "\"2001-01-01T00:00:00Z\"", "\"2000-06-30T12:00:00+02:00\"", "\"9999-12-31T23:59:59Z\"", "\"x\"", "1e400", "0", "\"0001-01-01T00:00:00+14:00\"", "[]" }))];
}
