using System.Security.Cryptography;
using System.Text;
using AffiliateTracker.Network;
using AffiliateTracker.ProductFeeds;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Demo;

/// The demo network's links that sell, made once: deep links into the demo shop on the sneakers offer, a banner
/// and a text ad, a small product feed, and a smart link for Bob that sends iPhones to the newsletter.
public static class DemoMaterials
{
    public static async Task SeedAsync(NpgsqlDataSource db, string baseUrl, long sneakers, long newsletter, long bob)
    {
        await using var conn = await db.OpenConnectionAsync();
        // The demo shop is this server: its host is the offer's deep-link domain.
        await conn.ExecuteAsync("""
            UPDATE offers SET deep_link_domains = @domains,
                deep_link_template = 'click_id={click_id}&offer_id={offer_id}&aff_id={aff_id}&sub1={sub1}'
            WHERE id = @sneakers AND deep_link_domains = '{}'
            """, new { sneakers, domains = new[] { new Uri(baseUrl).Host } });

        if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM creatives WHERE offer_id = @sneakers", new { sneakers }) == 0)
        {
            var banner = Banner();
            await conn.ExecuteAsync("""
                INSERT INTO creatives (offer_id, kind, name, content_type, width, height, image, sha256)
                VALUES (@sneakers, 'image', 'Sneakers 300×250', 'image/png', 300, 250, @banner, @sha);
                INSERT INTO creatives (offer_id, kind, name, body)
                VALUES (@sneakers, 'text', 'Sneakers, short ad', 'Running sneakers, 10% back for your readers: {tracking_url}');
                """, new { sneakers, banner, sha = Convert.ToHexStringLower(SHA256.HashData(banner)) });
        }

        if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM product_feeds WHERE offer_id = @sneakers", new { sneakers }) == 0)
        {
            var feedId = await conn.ExecuteScalarAsync<long>(
                "INSERT INTO product_feeds (offer_id, name) VALUES (@sneakers, 'Demo Shop sneakers') RETURNING id", new { sneakers });
            var csv = new StringBuilder("id,name,price,currency,url,image,category,availability\n");
            foreach (var (id, name, price) in new[] { ("run-42", "Runner 42", "120.00"), ("run-43", "Runner 43 Trail", "135.00"),
                         ("city-1", "City Walker", "89.90"), ("kids-7", "Kids Sprint", "49.00") })
                csv.Append($"{id},{name},{price},USD,{baseUrl}/demo/shop?product=sneakers&model={id},,Sneakers,in stock\n");
            await FeedImport.RunAsync(db, feedId, new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())));
        }

        if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM smart_links WHERE publisher_id = @bob", new { bob }) == 0)
            await conn.ExecuteAsync("""
                INSERT INTO smart_links (code, publisher_id, name, rules, fallback_url)
                VALUES ('demo-smart-bob', @bob, 'All traffic', @rules::jsonb, @fallback)
                """, new
            {
                bob, fallback = $"{baseUrl}/demo/shop?product=newsletter",
                rules = SmartLinkRules.ToJson([
                    new SmartRuleInput([], [], ["ios"], [new SmartOfferInput(newsletter, 1)]),
                    new SmartRuleInput([], [], [], [new SmartOfferInput(sneakers, 3), new SmartOfferInput(newsletter, 1)]),
                ]),
            });
    }

    private static byte[] Banner()
    {
        using var stream = typeof(DemoMaterials).Assembly.GetManifestResourceStream("DemoBanner.png")
            ?? throw new InvalidOperationException("The demo banner is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
