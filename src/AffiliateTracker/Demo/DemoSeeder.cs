using AffiliateTracker.Access;
using AffiliateTracker.Console.Account;
using AffiliateTracker.Network;
using Dapper;
using AffiliateTracker.Http;
using Npgsql;

namespace AffiliateTracker.Demo;

/// Seeds a small demo network once (an advertiser, two offers with goals, two publishers, their links)
/// and prints how to use it. Safe to run at every start: it finds what it made before.
public sealed class DemoSeeder(NpgsqlDataSource db, NetworkCache network, PublicBaseUrl publicUrl, DemoHistory history, ILogger<DemoSeeder> log)
{
    public static readonly (string Code, string Offer, string Publisher)[] Links =
    [
        ("demo-sneakers-alice", "Demo Shop: Sneakers (10% of sale)", "Alice's Blog"),
        ("demo-sneakers-bob", "Demo Shop: Sneakers (10% of sale)", "Bob's Deals"),
        ("demo-newsletter-alice", "Demo Shop: Newsletter signup ($2.50 lead)", "Alice's Blog"),
        ("demo-newsletter-bob", "Demo Shop: Newsletter signup ($2.50 lead)", "Bob's Deals"),
    ];

    public async Task SeedAsync()
    {
        // The demo offers land on this server's own shop, as a visitor's browser reaches it.
        var baseUrl = publicUrl.Value;
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        // One seeder at a time even with several instances starting together.
        await conn.ExecuteAsync("SELECT pg_advisory_xact_lock(4242)", transaction: tx);

        var advertiserId = await conn.QuerySingleOrDefaultAsync<long?>("SELECT id FROM advertisers WHERE name = 'Demo Shop'", transaction: tx)
            ?? await conn.ExecuteScalarAsync<long>("INSERT INTO advertisers (name, postback_token_hash) VALUES ('Demo Shop', @hash) RETURNING id",
                new { hash = ApiKeys.Hash(DemoOptions.PostbackToken) }, tx);

        var sneakers = await Offer(conn, tx, advertiserId, Links[0].Offer,
            $"{baseUrl}/demo/shop?product=sneakers&offer_id={{offer_id}}&click_id={{click_id}}&aff_id={{aff_id}}&sub1={{sub1}}",
            ("sale", "Sale", "percent", 10m, "percent", 15m, false));
        var newsletter = await Offer(conn, tx, advertiserId, Links[2].Offer,
            $"{baseUrl}/demo/shop?product=newsletter&offer_id={{offer_id}}&click_id={{click_id}}&aff_id={{aff_id}}&sub1={{sub1}}",
            ("lead", "Newsletter signup", "fixed", 2.50m, "fixed", 4.00m, true));
        var alice = await Publisher(conn, tx, "Alice's Blog");
        var bob = await Publisher(conn, tx, "Bob's Deals");

        foreach (var (code, offerName, publisherName) in Links)
        {
            var offerId = offerName == Links[0].Offer ? sneakers : newsletter;
            var publisherId = publisherName == "Alice's Blog" ? alice : bob;
            await conn.ExecuteAsync("INSERT INTO offer_access (offer_id, publisher_id) VALUES (@offerId, @publisherId) ON CONFLICT DO NOTHING",
                new { offerId, publisherId }, tx);
            await conn.ExecuteAsync("INSERT INTO tracking_links (code, offer_id, publisher_id) VALUES (@code, @offerId, @publisherId) ON CONFLICT (code) DO NOTHING",
                new { code, offerId, publisherId }, tx);
        }

        foreach (var (key, role, adv, pub) in new (string, string, long?, long?)[]
                 {
                     (DemoOptions.AdminKey, Roles.Admin, null, null), (DemoOptions.AdvertiserKey, Roles.Advertiser, advertiserId, null),
                     (DemoOptions.PublisherKeyAlice, Roles.Publisher, null, alice), (DemoOptions.PublisherKeyBob, Roles.Publisher, null, bob),
                 })
            await conn.ExecuteAsync("""
                INSERT INTO api_keys (key_hash, role, advertiser_id, publisher_id, name) VALUES (@hash, @role, @adv, @pub, 'demo')
                ON CONFLICT (key_hash) DO NOTHING
                """, new { hash = ApiKeys.Hash(key), role, adv, pub }, tx);
        foreach (var (email, role, adv, pub) in new (string, string, long?, long?)[]
                 {
                     (DemoOptions.AdminEmail, Roles.Admin, null, null), (DemoOptions.AdvertiserEmail, Roles.Advertiser, advertiserId, null),
                     (DemoOptions.AliceEmail, Roles.Publisher, null, alice), (DemoOptions.BobEmail, Roles.Publisher, null, bob),
                 })
            if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM users WHERE email = @email", new { email }, tx) == 0)
                await ConsoleUsers.CreateAsync(conn, tx, email, DemoOptions.Password, role, adv, pub);
        await tx.CommitAsync();
        await DemoMaterials.SeedAsync(db, baseUrl, sneakers, newsletter, bob);
        await network.ReloadAsync();
        await history.SeedAsync();
        log.LogWarning("Demo mode: seeded the demo network with publicly known API keys; do not use demo mode in production");
        PrintWelcome(baseUrl, sneakers, newsletter);
    }

    private static async Task<long> Offer(NpgsqlConnection conn, NpgsqlTransaction tx, long advertiserId, string name, string landingUrl,
        (string Code, string Name, string PayoutType, decimal Payout, string RevenueType, decimal Revenue, bool OncePerClick) goal)
    {
        var id = await conn.QuerySingleOrDefaultAsync<long?>("SELECT id FROM offers WHERE name = @name AND advertiser_id = @advertiserId",
            new { name, advertiserId }, tx);
        if (id is { } existing)
        {
            // The server may have moved to another address since the last run.
            await conn.ExecuteAsync("UPDATE offers SET landing_url = @landingUrl WHERE id = @existing", new { landingUrl, existing }, tx);
            return existing;
        }
        var offerId = await conn.ExecuteScalarAsync<long>("""
            INSERT INTO offers (advertiser_id, name, landing_url, currency, attribution_window_hours, hold_period_hours, default_goal)
            VALUES (@advertiserId, @name, @landingUrl, 'USD', 720, 168, @code) RETURNING id
            """, new { advertiserId, name, landingUrl, goal.Code }, tx);
        await conn.ExecuteAsync("""
            INSERT INTO goals (offer_id, code, name, payout_type, payout, revenue_type, revenue, once_per_click)
            VALUES (@offerId, @Code, @Name, @PayoutType, @Payout, @RevenueType, @Revenue, @OncePerClick)
            """, new { offerId, goal.Code, goal.Name, goal.PayoutType, goal.Payout, goal.RevenueType, goal.Revenue, goal.OncePerClick }, tx);
        return offerId;
    }

    private static async Task<long> Publisher(NpgsqlConnection conn, NpgsqlTransaction tx, string name) =>
        await conn.QuerySingleOrDefaultAsync<long?>("SELECT id FROM publishers WHERE name = @name", new { name }, tx)
        ?? await conn.ExecuteScalarAsync<long>("INSERT INTO publishers (name, min_payout) VALUES (@name, 25) RETURNING id", new { name }, tx);

    private static void PrintWelcome(string baseUrl, long sneakers, long newsletter)
    {
        var lines = new List<string>
        {
            "", "================ AffiliateTracker demo network ================",
            "Tracking links (open one in a browser, or: curl -i '<link>'):",
        };
        foreach (var (code, offer, publisher) in Links) lines.Add($"  {publisher,-14} {offer,-42} {baseUrl}/c/{code}?sub1=demo");
        lines.Add($"  By ids:        {baseUrl}/click?offer_id={sneakers}&aff_id=<publisher id>&sub1=x");
        lines.Add($"  Deep link:     {baseUrl}/c/demo-sneakers-alice?url={Uri.EscapeDataString(baseUrl + "/demo/shop?product=sneakers&model=run-43")}");
        lines.Add($"  Smart link:    {baseUrl}/s/demo-smart-bob  (iPhones go to the newsletter, everyone else 3:1 sneakers:newsletter)");
        lines.Add("");
        lines.Add("Advertiser postback (use the click_id the demo shop shows; the sneakers offer pays 10% of amount):");
        lines.Add($"  curl '{baseUrl}/postback?click_id=<click_id>&txid=order-1&amount=120.00&token={DemoOptions.PostbackToken}'");
        lines.Add($"  curl '{baseUrl}/postback?click_id=<click_id>&txid=order-1&status=approved&token={DemoOptions.PostbackToken}'");
        lines.Add("Or place an order in the demo shop: its thank-you page fires the conversion pixel.");
        lines.Add($"  curl -H 'Authorization: Bearer {DemoOptions.AdvertiserKey}' {baseUrl}/api/v1/conversions");
        lines.Add($"  curl -H 'Authorization: Bearer {DemoOptions.AdvertiserKey}' {baseUrl}/api/v1/postback-log");
        lines.Add("");
        lines.Add("Management API (OpenAPI at /openapi/v1.json):");
        lines.Add($"  curl -H 'Authorization: Bearer {DemoOptions.AdminKey}' {baseUrl}/api/v1/offers");
        lines.Add($"  curl -H 'Authorization: Bearer {DemoOptions.PublisherKeyAlice}' {baseUrl}/api/v1/links");
        lines.Add($"  curl -H 'Authorization: Bearer {DemoOptions.AdminKey}' {baseUrl}/api/v1/stats/clicks");
        lines.Add("");
        lines.Add($"Web console: {baseUrl}/  (password for every demo user: {DemoOptions.Password})");
        lines.Add($"  admin       {DemoOptions.AdminEmail}");
        lines.Add($"  advertiser  {DemoOptions.AdvertiserEmail}  (Demo Shop)");
        lines.Add($"  publishers  {DemoOptions.AliceEmail}  (Alice's Blog), {DemoOptions.BobEmail}  (Bob's Deals)");
        lines.Add($"Health: {baseUrl}/health");
        lines.Add("===============================================================");
        System.Console.WriteLine(string.Join(Environment.NewLine, lines));
    }
}
