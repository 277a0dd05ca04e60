using AffiliateTracker.Payouts;
using AffiliateTracker.Storage;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Demo;

/// Two weeks of demo traffic written straight into PostgreSQL once, so that every console page has something on
/// it: clicks with their rollups, conversions approved after their hold, some still on hold, a few flagged for
/// review, a few rejected, and one payout run, approved, with Alice's line paid. Deterministic (a fixed seed).
public sealed class DemoHistory(NpgsqlDataSource db, PayoutRuns payouts, TimeProvider time, ILogger<DemoHistory> log)
{
    public const string Source = "demo-history";
    private static readonly string[] Countries = ["US", "DE", "GB", "VN", "TR", "RU", "CN", "BR"];
    private static readonly string[] Placements = ["blog", "newsletter", "youtube", "telegram"];
    // Visitors' devices and networks, in rough proportion; the last is a cloud server (a data-centre click).
    private static readonly (int Weight, string Device, string Os, string? OsVersion, string Browser, int Asn, bool Datacenter)[] Visitors =
    [
        (35, "mobile", "iOS", "18", "Mobile Safari", 3320, false), (28, "mobile", "Android", "14", "Chrome Mobile", 12389, false),
        (18, "desktop", "Windows", "10", "Chrome", 7922, false), (8, "desktop", "macOS", "10", "Safari", 3215, false),
        (5, "tablet", "iOS", "17", "Mobile Safari", 3320, false), (3, "mobile", "Android", "13", "Samsung Internet", 12389, false),
        (3, "desktop", "Linux", null, "Chrome", 16509, true),
    ];

    public async Task SeedAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        if (await conn.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM clicks WHERE source = @Source)", new { Source })) return;

        var now = time.GetUtcNow();
        var links = (await conn.QueryAsync<(long Id, long OfferId, long PublisherId, long AdvertiserId, string Currency, string Goal, string PayoutType,
            decimal Payout, string RevenueType, decimal Revenue, int HoldHours, string PublisherName)>("""
            SELECT l.id, l.offer_id, l.publisher_id, o.advertiser_id, o.currency, g.code, g.payout_type, g.payout, g.revenue_type, g.revenue, o.hold_period_hours,
                   p.name AS publisher_name
            FROM tracking_links l JOIN offers o ON o.id = l.offer_id JOIN goals g ON g.offer_id = o.id AND g.code = o.default_goal
            JOIN publishers p ON p.id = l.publisher_id
            WHERE l.code LIKE 'demo-%' ORDER BY l.id
            """)).ToList();
        var random = new Random(20261204);
        var clicks = new List<object>();
        var conversions = new List<object>();
        var history = new List<object>(); // changes after creation: a conversion is its own first history entry (created_status)
        foreach (var link in links)
            for (var day = 13; day >= 0; day--)
            {
                var count = 25 + random.Next(40) + (13 - day) * 2;
                for (var i = 0; i < count; i++)
                {
                    var at = now.UtcDateTime.Date.AddDays(-day).AddSeconds(random.Next(day == 0 ? (int)now.TimeOfDay.TotalSeconds + 1 : 86400));
                    if (at > now.UtcDateTime) at = now.UtcDateTime.AddSeconds(-random.Next(600));
                    var clickId = Ulid.New(at);
                    var country = Countries[random.Next(Countries.Length)];
                    var sub1 = Placements[random.Next(Placements.Length)];
                    var bot = random.Next(40) == 0;
                    var pick = random.Next(100);
                    var visitor = Visitors.First(v => (pick -= v.Weight) < 0);
                    // Bob buys his traffic: every click of his cost 6 cents.
                    decimal? cost = link.PublisherName == "Bob's Deals" ? 0.06m : null;
                    clicks.Add(new
                    {
                        clickId, at, link.OfferId, link.PublisherId, linkId = link.Id, sub1, country, unique = random.Next(5) != 0, bot,
                        device = bot ? "bot" : visitor.Device, visitor.Os, visitor.OsVersion, visitor.Browser, visitor.Asn, visitor.Datacenter, cost,
                    });
                    if (random.Next(100) >= 6) continue;

                    var tooFast = !bot && random.Next(25) == 0;
                    // A too_fast conversion came seconds after its click (click injection); others minutes to hours later.
                    var convertedAt = tooFast ? at.AddSeconds(2 + random.Next(8)) : at.AddMinutes(3 + random.Next(600));
                    if (convertedAt > now.UtcDateTime) convertedAt = now.UtcDateTime;
                    var amount = link.PayoutType == "percent" ? 40m + random.Next(16000) / 100m : (decimal?)null;
                    var payout = link.PayoutType == "percent" ? Math.Round(amount!.Value * link.Payout / 100m, 2) : link.Payout;
                    var revenue = link.RevenueType == "percent" ? Math.Round(amount!.Value * link.Revenue / 100m, 2) : link.Revenue;
                    var holdUntil = convertedAt.AddHours(link.HoldHours);
                    string[] flags = bot ? ["bot_click"] : visitor.Datacenter ? ["datacenter"] : tooFast ? ["too_fast"] : [];
                    var status = flags.Length > 0 ? "pending" : random.Next(12) == 0 ? "rejected" : holdUntil <= now.UtcDateTime ? "approved" : "pending";
                    var changedAt = status switch { "approved" => holdUntil, "rejected" => convertedAt.AddHours(20), _ => convertedAt };
                    if (changedAt > now.UtcDateTime) changedAt = now.UtcDateTime;
                    var id = Ulid.New(convertedAt);
                    conversions.Add(new
                    {
                        id, clickId, clickAt = at, link.OfferId, link.AdvertiserId, link.PublisherId, goal = link.Goal, txid = $"demo-{id[^8..]}",
                        status, amount, currency = link.Currency, payout, revenue, sub1, country, flags, createdAt = convertedAt, holdUntil, changedAt,
                    });
                    if (status != "pending")
                        history.Add(new
                        {
                            eventId = Guid.NewGuid(), id, from = (string?)"pending", to = status,
                            actor = status == "approved" ? "system:hold" : $"advertiser:{link.AdvertiserId}",
                            reason = (string?)(status == "approved" ? "hold period ended" : "order returned"), at = changedAt,
                        });
                }
            }

        await using (var tx = await conn.BeginTransactionAsync())
        {
            await conn.ExecuteAsync("""
                INSERT INTO clicks (click_id, created_at, offer_id, publisher_id, link_id, sub1, source, ip, user_agent, country, is_unique, is_bot,
                    device_type, os, os_version, browser, asn, is_datacenter, cost)
                VALUES (@clickId, @at, @OfferId, @PublisherId, @linkId, @sub1, 'demo-history', '203.0.113.7',
                        'Mozilla/5.0 (demo history)', @country, @unique, @bot, @device, @Os, @OsVersion, @Browser, @Asn, @Datacenter, @cost)
                """, clicks, tx);
            // The rollups reports read, as the click flusher keeps them.
            await conn.ExecuteAsync("""
                INSERT INTO click_rollup_hour
                SELECT date_trunc('hour', created_at), offer_id, publisher_id, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot), coalesce(sum(cost), 0)
                FROM clicks WHERE source = 'demo-history' GROUP BY 1, 2, 3
                ON CONFLICT (hour, offer_id, publisher_id) DO UPDATE SET clicks = click_rollup_hour.clicks + excluded.clicks,
                    unique_clicks = click_rollup_hour.unique_clicks + excluded.unique_clicks;
                INSERT INTO click_rollup_country
                SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(country, ''), count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot)
                FROM clicks WHERE source = 'demo-history' GROUP BY 1, 2, 3, 4
                ON CONFLICT (day, offer_id, publisher_id, country) DO UPDATE SET clicks = click_rollup_country.clicks + excluded.clicks,
                    unique_clicks = click_rollup_country.unique_clicks + excluded.unique_clicks;
                INSERT INTO click_rollup_subs
                SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(sub1, ''), '', '', '', '', count(*),
                       count(*) FILTER (WHERE is_unique AND NOT is_bot), coalesce(sum(cost), 0)
                FROM clicks WHERE source = 'demo-history' GROUP BY 1, 2, 3, 4
                ON CONFLICT (day, offer_id, publisher_id, sub1, sub2, sub3, sub4, sub5) DO UPDATE SET clicks = click_rollup_subs.clicks + excluded.clicks,
                    unique_clicks = click_rollup_subs.unique_clicks + excluded.unique_clicks, cost = click_rollup_subs.cost + excluded.cost;
                INSERT INTO click_rollup_device
                SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, device_type, os, coalesce(os_version, ''), browser, count(*),
                       count(*) FILTER (WHERE is_unique AND NOT is_bot)
                FROM clicks WHERE source = 'demo-history' GROUP BY 1, 2, 3, 4, 5, 6, 7
                ON CONFLICT (day, offer_id, publisher_id, device_type, os, os_version, browser) DO UPDATE SET clicks = click_rollup_device.clicks + excluded.clicks,
                    unique_clicks = click_rollup_device.unique_clicks + excluded.unique_clicks;
                INSERT INTO click_rollup_network
                SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, asn, is_datacenter, count(*), count(*) FILTER (WHERE is_unique AND NOT is_bot)
                FROM clicks WHERE source = 'demo-history' GROUP BY 1, 2, 3, 4, 5
                ON CONFLICT (day, offer_id, publisher_id, asn, is_datacenter) DO UPDATE SET clicks = click_rollup_network.clicks + excluded.clicks,
                    unique_clicks = click_rollup_network.unique_clicks + excluded.unique_clicks;
                """, transaction: tx);
            await conn.ExecuteAsync("""
                INSERT INTO conversions (id, click_id, click_created_at, offer_id, advertiser_id, publisher_id, goal, txid, dedupe_key, status, amount,
                    currency, payout, revenue, sub1, country, flags, via, created_at, hold_until, status_changed_at, created_status)
                VALUES (@id, @clickId, @clickAt, @OfferId, @AdvertiserId, @PublisherId, @goal, @txid, 't:' || @txid, @status, @amount,
                    @currency, @payout, @revenue, @sub1, @country, @flags, 'postback', @createdAt, @holdUntil, @changedAt, 'pending')
                """, conversions, tx);
            // Conversions carry their click's traffic details, as the conversion flusher copies them.
            await conn.ExecuteAsync("""
                UPDATE conversions c SET device_type = k.device_type, os = k.os, os_version = k.os_version, browser = k.browser, asn = k.asn,
                    is_datacenter = k.is_datacenter
                FROM clicks k WHERE k.source = 'demo-history' AND k.click_id = c.click_id AND k.created_at = c.click_created_at
                """, transaction: tx);
            await conn.ExecuteAsync("""
                INSERT INTO conversion_status_history (event_id, conversion_id, from_status, to_status, actor, reason, changed_at)
                VALUES (@eventId, @id, @from, @to, @actor, @reason, @at)
                """, history, tx);
            // The postback log the advertiser searches: each conversion's postback (kept on the conversion), and the kinds of
            // refusal a real integration meets (an unknown click id, a click past its window, a repeated order, a wrong token).
            await conn.ExecuteAsync("""
                UPDATE conversions c SET postback_ip = '198.51.100.20', postback_query = 'click_id=' || c.click_id || '&txid=' || c.txid
                WHERE c.txid LIKE 'demo-%' AND c.click_id IN (SELECT click_id FROM clicks WHERE source = 'demo-history');
                INSERT INTO postback_log (event_id, received_at, via, advertiser_id, offer_id, click_id, txid, goal, decision, http_status, message, remote_ip, query)
                SELECT gen_random_uuid(), c.created_at + interval '2 minutes', 'postback', c.advertiser_id, c.offer_id, c.click_id, c.txid, c.goal,
                       'duplicate', 200, 'Already recorded; counted once.', '198.51.100.20', 'click_id=' || c.click_id || '&txid=' || c.txid
                FROM conversions c WHERE c.txid LIKE 'demo-%' ORDER BY c.created_at DESC LIMIT 3;
                INSERT INTO postback_log (event_id, received_at, via, advertiser_id, decision, http_status, message, click_id, txid, remote_ip, query)
                SELECT gen_random_uuid(), now() - d.k * interval '5 hours', 'postback', a.id, d.decision, d.status, d.message, d.click_id, 'demo-order-' || d.k,
                       '198.51.100.20', 'click_id=' || coalesce(d.click_id, '') || '&txid=demo-order-' || d.k
                FROM advertisers a,
                     (VALUES (1, 'unknown_click', 404, 'No click with this id.', '01M0000000000000000000000X'),
                             (2, 'click_expired', 410, 'The click is older than the offer''s 720-hour attribution window.', '01KZZZZZZZZZZZZZZZZZZZZZZZ'),
                             (3, 'bad_token', 403, 'The token does not match.', NULL)) AS d(k, decision, status, message, click_id)
                WHERE a.name = 'Demo Shop';
                """, transaction: tx);
            await tx.CommitAsync();
        }
        // One payout run over what was approved until three days ago: approved, Alice's line paid.
        var run = await payouts.CreateAsync(now.AddDays(-3), "admin");
        if (run.Lines.Count > 0)
        {
            await payouts.ApproveAsync(run.Id, "admin");
            var alice = run.Lines.FirstOrDefault(l => l.PublisherName == "Alice's Blog");
            if (alice is not null) await payouts.MarkPaidAsync(run.Id, alice.Id, "DEMO-WIRE-0001", "admin");
        }
        log.LogInformation("Demo mode: seeded {Clicks} clicks and {Conversions} conversions of history", clicks.Count, conversions.Count);
    }
}
