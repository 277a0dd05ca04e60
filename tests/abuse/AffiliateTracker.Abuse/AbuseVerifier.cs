using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

namespace AffiliateTracker.Abuse;

public sealed record CheckResult(string Name, string Expected, string Actual, bool Ok);

/// After the run, once the flushers have drained: what the server answered must be exactly what it
/// stored. Every redirect that set the click cookie is one click row and no click row lacks one; every
/// postback answered "created" is one conversion and there is no other; every conversion keeps its postback's or
/// pixel's parameters (its postback log entry); amounts, payouts and revenues are sane and follow the goal's rule;
/// every conversion has its click and its status history; every 201 is a whole record (an offer with
/// all its goals, a reconciliation with all its rows) and nothing was half-written by a refused request.
/// With a PostgreSQL connection string the rows are read directly; without, through the API's reports.
public sealed class AbuseVerifier(Uri baseUri, AbuseTarget t, AbuseTally tally, string? postgres, TextWriter log)
{
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// The ledger check covers the whole database: off when other tests share it and may be mid-payout.
    public bool LedgerCheck { get; init; } = true;

    private readonly List<CheckResult> _results = [];

    public async Task<IReadOnlyList<CheckResult>> RunAsync(DateTime startedUtc)
    {
        using var admin = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", t.AdminKey);
        if (postgres is not null) await DatabaseChecksAsync();
        else await ApiChecksAsync(admin, startedUtc);

        var health = await admin.GetPatientlyAsync("/health");
        Add("GET /health at the end", "200", ((int)health.StatusCode).ToString(), health.IsSuccessStatusCode);
        if (LedgerCheck)
        {
            var ledger = await admin.GetPatientlyAsync("/api/v1/ledger-check");
            Add("GET /api/v1/ledger-check (money invariants)", "200", ((int)ledger.StatusCode).ToString(), ledger.IsSuccessStatusCode);
        }
        return _results;
    }

    private void Add(string name, object expected, object actual, bool? ok = null) =>
        _results.Add(new CheckResult(name, expected.ToString()!, actual.ToString()!, ok ?? Equals(expected.ToString(), actual.ToString())));

    private long[] OwnOfferIds => t.Offers.Select(o => o.Id).Append(t.SacrificialOfferId).Concat(tally.CreatedOffers.Keys).Distinct().ToArray();
    private long[] PostbackOfferIds => t.PostbackOffers.Select(o => o.Id).ToArray();

    // ---- PostgreSQL ----

    private async Task DatabaseChecksAsync()
    {
        await using var db = NpgsqlDataSource.Create(postgres!);
        var trackedOffers = t.Offers.Select(o => o.Id).ToArray();

        // Wait (bounded) for the flushers: clicks, conversions and the postback log are written asynchronously.
        var deadline = DateTime.UtcNow + DrainTimeout;
        while (true)
        {
            var clicks = await ScalarAsync(db, "SELECT count(*) FROM clicks WHERE offer_id = ANY(@ids)", ("ids", trackedOffers));
            var conversions = await ScalarAsync(db, "SELECT count(*) FROM conversions WHERE offer_id = ANY(@ids)", ("ids", PostbackOfferIds));
            var logged = await ScalarAsync(db, "SELECT count(*) FROM postback_log_entries WHERE offer_id = ANY(@ids) AND via = 'postback'", ("ids", PostbackOfferIds));
            if (clicks >= tally.LandedClicks.Count && conversions >= tally.CreatedConversions.Count && logged >= tally.ResolvedPostbacks) break;
            if (DateTime.UtcNow > deadline) { log.WriteLine("drain: gave up waiting for the flushers"); break; }
            await Task.Delay(500);
        }
        await Task.Delay(1500); // anything written late (a row the answers do not know of) has arrived too

        var clickRows = await PairsAsync(db, "SELECT click_id, offer_id FROM clicks WHERE offer_id = ANY(@ids)", ("ids", trackedOffers));
        var answered = tally.LandedClicks.Where(c => trackedOffers.Contains(c.Value)).ToDictionary(c => c.Key, c => c.Value);
        Add("click rows == redirects that set the click cookie", answered.Count, clickRows.Count);
        Missing("clicks answered but not stored", answered.Keys, clickRows.Keys);
        Missing("click rows no answer announced", clickRows.Keys, answered.Keys);
        Add("click rows on the offer their cookie named", 0, clickRows.Count(r => answered.TryGetValue(r.Key, out var o) && o != r.Value));

        var conversionIds = (await PairsAsync(db, "SELECT id, offer_id FROM conversions WHERE offer_id = ANY(@ids)", ("ids", PostbackOfferIds))).Keys.ToHashSet();
        Add("conversion rows == postbacks answered \"created\"", tally.CreatedConversions.Count, conversionIds.Count);
        Missing("conversions answered created but not stored", tally.CreatedConversions.Keys, conversionIds);
        Missing("conversion rows no postback answered created", conversionIds, tally.CreatedConversions.Keys);
        var all = (await PairsAsync(db, "SELECT id, offer_id FROM conversions WHERE offer_id = ANY(@ids)", ("ids", trackedOffers))).Keys.ToHashSet();
        Missing("conversions named in duplicate/updated answers but not stored", tally.ReferencedConversions.Keys, all);
        // A created postback's or pixel's log entry is its conversion, with the caller's address and parameters.
        Add("conversions without their postback's or pixel's parameters (their log entry)", 0,
            await ScalarAsync(db, "SELECT count(*) FROM conversions WHERE offer_id = ANY(@ids) AND postback_query IS NULL", ("ids", trackedOffers)));
        Add("postback-log entries of the run's offers == postbacks decided on their click", tally.ResolvedPostbacks,
            await ScalarAsync(db, "SELECT count(*) FROM postback_log_entries WHERE offer_id = ANY(@ids) AND via = 'postback'", ("ids", PostbackOfferIds)));
        Add("postback-log entries \"created\" == postbacks answered created",
            tally.CreatedConversions.Count,
            await ScalarAsync(db, "SELECT count(*) FROM postback_log_entries WHERE offer_id = ANY(@ids) AND decision = 'created'", ("ids", PostbackOfferIds)));

        Add("conversions with NULL, negative or absurd amounts", 0, await ScalarAsync(db, """
            SELECT count(*) FROM conversions WHERE offer_id = ANY(@ids) AND (
                (goal = 'sale' AND amount IS NULL) OR amount < 0 OR amount > 1000000000000 OR payout < 0 OR revenue < 0
                OR payout > 1000000000000 OR revenue > 1000000000000 OR (original_amount IS NOT NULL AND (original_amount < 0 OR original_currency IS NULL)))
            """, ("ids", trackedOffers)));
        Add("conversions whose payout or revenue breaks the goal's rule", 0, await ScalarAsync(db, """
            SELECT count(*) FROM conversions WHERE offer_id = ANY(@ids) AND (
                (goal = 'sale' AND (payout <> round(amount * 0.10, 2) OR revenue <> round(amount * 0.15, 2)))
                OR (goal = 'lead' AND (payout <> 2.50 OR revenue <> 4.00)) OR goal NOT IN ('sale', 'lead'))
            """, ("ids", trackedOffers)));
        Add("conversions without their click", 0, await ScalarAsync(db, """
            SELECT count(*) FROM conversions c WHERE c.offer_id = ANY(@ids)
              AND NOT EXISTS (SELECT 1 FROM clicks k WHERE k.click_id = c.click_id AND k.created_at = c.click_created_at AND k.offer_id = c.offer_id)
            """, ("ids", trackedOffers)));
        Add("conversions without status history, or whose status is not the last one recorded", 0, await ScalarAsync(db, """
            SELECT count(*) FROM conversions c WHERE c.offer_id = ANY(@ids) AND c.status IS DISTINCT FROM (
                SELECT h.to_status FROM conversion_status_history_entries h WHERE h.conversion_id = c.id ORDER BY h.changed_at DESC, h.id DESC LIMIT 1)
            """, ("ids", trackedOffers)));

        // Management writes: a 201 is a whole record; a refused request left nothing behind.
        var advertisers = new[] { t.AdvertiserId, t.SacrificialAdvertiserId };
        var offers = await PairsAsync(db, """
            SELECT o.id::text, (SELECT count(*) FROM goals g WHERE g.offer_id = o.id) FROM offers o WHERE o.advertiser_id = ANY(@a)
            """, ("a", advertisers));
        var expectedOffers = t.Offers.Select(o => o.Id).Append(t.SacrificialOfferId).Concat(tally.CreatedOffers.Keys).Select(i => i.ToString()).ToHashSet();
        Add("offers of the run's advertisers == setup + answered 201", expectedOffers.Count, offers.Count);
        Missing("offers answered 201 but not stored", expectedOffers, offers.Keys);
        Add("offers without goals", 0, offers.Count(o => o.Value == 0));
        Add("offers answered 201 whose goals differ from the answer", 0,
            tally.CreatedOffers.Count(c => !offers.TryGetValue(c.Key.ToString(), out var goals) || goals != c.Value));
        Add("tracking links of the run's offers == setup + answered 201", t.SetupLinks + tally.CreatedLinks.Count,
            await ScalarAsync(db, "SELECT count(*) FROM tracking_links WHERE offer_id = ANY(@ids)", ("ids", OwnOfferIds)));
        var recs = await PairsAsync(db, """
            SELECT r.id::text, r.rows_read - r.rows_malformed - (SELECT count(*) FROM reconciliation_rows x WHERE x.reconciliation_id = r.id)
            FROM reconciliations r WHERE r.advertiser_id = ANY(@a)
            """, ("a", advertisers));
        Add("reconciliations of the run's advertisers == answered 201", tally.CreatedReconciliations.Count, recs.Count);
        Add("reconciliations whose stored rows differ from rows read - malformed", 0, recs.Count(r => r.Value != 0));
        var recCounts = await PairsAsync(db, "SELECT id::text, rows_read::bigint * 1000000 + rows_malformed FROM reconciliations WHERE id = ANY(@ids)",
            ("ids", tally.CreatedReconciliations.Keys.ToArray()));
        Add("reconciliations whose counts differ from the 201 answer", 0,
            tally.CreatedReconciliations.Count(c => !recCounts.TryGetValue(c.Key.ToString(), out var v) || v != c.Value.Read * 1_000_000L + c.Value.Malformed));
    }

    private void Missing(string name, IEnumerable<string> expected, IEnumerable<string> actual)
    {
        var missing = expected.Except(actual).ToList();
        Add(name, 0, missing.Count);
        if (missing.Count > 0) tally.Violation("partial write: " + name, string.Join(", ", missing.Take(10)));
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource db, string sql, params (string Name, object Value)[] args)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    private static async Task<Dictionary<string, long>> PairsAsync(NpgsqlDataSource db, string sql, params (string Name, object Value)[] args)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        await using var reader = await cmd.ExecuteReaderAsync();
        var result = new Dictionary<string, long>();
        while (await reader.ReadAsync()) result[reader.GetString(0)] = Convert.ToInt64(reader.GetValue(1));
        return result;
    }

    // ---- the API alone (no database access) ----

    private async Task ApiChecksAsync(HttpClient admin, DateTime startedUtc)
    {
        var from = startedUtc.AddDays(-1).ToString("yyyy-MM-dd");
        var to = DateTime.UtcNow.AddDays(2).ToString("yyyy-MM-dd");
        var expectedClicks = t.Offers.ToDictionary(o => o.Id, o => (long)tally.LandedClicks.Count(c => c.Value == o.Id));
        Dictionary<long, (long Clicks, long Conversions)> report = [];
        var deadline = DateTime.UtcNow + DrainTimeout;
        while (true)
        {
            var rows = (await admin.GetFromJsonNodeAsync($"/api/v1/reports?group_by=offer&from={from}&to={to}")).AsArray();
            report = rows.Where(r => r!["offer_id"] is not null).ToDictionary(r => r!["offer_id"]!.GetValue<long>(),
                r => (r!["clicks"]!.GetValue<long>(), r["conversions"]!.GetValue<long>() + r["rejected"]!.GetValue<long>()));
            var clicks = t.Offers.Sum(o => report.GetValueOrDefault(o.Id).Clicks);
            var conversions = t.PostbackOffers.Sum(o => report.GetValueOrDefault(o.Id).Conversions);
            if (clicks >= expectedClicks.Values.Sum() && conversions >= tally.CreatedConversions.Count) break;
            if (DateTime.UtcNow > deadline) { log.WriteLine("drain: gave up waiting for the flushers"); break; }
            await Task.Delay(1000);
        }
        await Task.Delay(1500);
        Add("clicks (reports) == redirects that set the click cookie", expectedClicks.Values.Sum(), t.Offers.Sum(o => report.GetValueOrDefault(o.Id).Clicks));
        Add("offers whose click count differs", 0, t.Offers.Count(o => report.GetValueOrDefault(o.Id).Clicks != expectedClicks[o.Id]));
        Add("conversions (reports) == postbacks answered \"created\"", tally.CreatedConversions.Count, t.PostbackOffers.Sum(o => report.GetValueOrDefault(o.Id).Conversions));

        var bad = 0;
        var seen = new HashSet<string>();
        foreach (var offer in t.Offers.Where(o => o.Id == t.PixelOffer!.Id || t.PostbackOffers.Contains(o)))
        {
            string? cursor = null;
            while (true)
            {
                var page = (await admin.GetFromJsonNodeAsync($"/api/v1/conversions?offer_id={offer.Id}&limit=1000{(cursor is null ? "" : "&to=" + Uri.EscapeDataString(cursor))}")).AsArray();
                var fresh = page.Where(c => seen.Add(c!["id"]!.GetValue<string>())).ToList();
                foreach (var c in fresh)
                {
                    var goal = c!["goal"]!.GetValue<string>();
                    var amount = c["amount"]?.GetValue<decimal>();
                    var payout = c["payout"]!.GetValue<decimal>();
                    var revenue = c["revenue"]!.GetValue<decimal>();
                    var ok = goal switch
                    {
                        "sale" => amount is >= 0 and <= 1_000_000_000_000m && payout == Math.Round(amount.Value * 0.10m, 2, MidpointRounding.AwayFromZero)
                                  && revenue == Math.Round(amount.Value * 0.15m, 2, MidpointRounding.AwayFromZero),
                        "lead" => payout == 2.50m && revenue == 4.00m && amount is null or (>= 0 and <= 1_000_000_000_000m),
                        _ => false,
                    };
                    if (!ok) bad++;
                }
                if (fresh.Count == 0 || page.Count < 1000) break;
                cursor = page[^1]!["created_at"]!.GetValue<DateTime>().AddTicks(10).ToString("O");
            }
        }
        Add("conversions with NULL, negative or absurd amounts, or payouts off the goal's rule", 0, bad);
    }
}

internal static class HttpJson
{
    /// Sends, and when the server rate-limits (429) waits as it asks (Retry-After, else a second) and sends again.
    public static async Task<HttpResponseMessage> SendPatientlyAsync(HttpClient client, Func<HttpRequestMessage> request)
    {
        for (var attempt = 0; ; attempt++)
        {
            var response = await client.SendAsync(request());
            if ((int)response.StatusCode != 429 || attempt == 120) return response;
            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            response.Dispose();
            await Task.Delay(wait > TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(10) : wait);
        }
    }

    public static Task<HttpResponseMessage> GetPatientlyAsync(this HttpClient client, string path) =>
        SendPatientlyAsync(client, () => new HttpRequestMessage(HttpMethod.Get, path));

    public static async Task<JsonNode> GetFromJsonNodeAsync(this HttpClient client, string path)
    {
        var response = await client.GetPatientlyAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }
}
