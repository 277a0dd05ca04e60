using System.Globalization;
using AffiliateTracker.Conversions;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Conversions;

/// Puts publisher postbacks in the durable queue, inside the same transaction that creates or changes
/// the conversion (an outbox): a committed change always has its postback queued, and only once
/// (event_id is unique). Publishers without a postback URL, or whose URL is paused, get none.
public static class PublisherPostbackOutbox
{
    public static readonly string[] Macros =
        ["{click_id}", "{conversion_id}", "{offer_id}", "{aff_id}", "{goal}", "{payout}", "{currency}", "{status}", "{txid}",
         "{sub1}", "{sub2}", "{sub3}", "{sub4}", "{sub5}", "{source}"];

    public static async Task EnqueueAsync(NpgsqlConnection conn, NpgsqlTransaction tx, NetworkSnapshot snapshot,
        IEnumerable<(Guid EventId, ConversionRow Conversion)> items, DateTimeOffset now)
    {
        var rows = items
            .Select(i => (i.EventId, i.Conversion, Publisher: snapshot.Publisher(i.Conversion.PublisherId)))
            .Where(i => i.Publisher is { PostbackUrl: not null, PostbackPaused: false })
            .Select(i => new { event_id = i.EventId, publisher_id = i.Conversion.PublisherId, conversion_id = i.Conversion.Id,
                               url = Expand(i.Publisher!.PostbackUrl!, i.Conversion) })
            .ToList();
        if (rows.Count == 0) return;
        // One statement for the whole batch (arrays unnested), not one round trip per row.
        await conn.ExecuteAsync("""
            INSERT INTO publisher_postbacks (event_id, publisher_id, conversion_id, url, next_attempt_at, created_at)
            SELECT e, p, c, u, @now, @now FROM unnest(@events, @publishers, @conversions, @urls) AS r(e, p, c, u)
            ON CONFLICT (event_id) DO NOTHING
            """, new
            {
                events = rows.Select(r => r.event_id).ToArray(), publishers = rows.Select(r => r.publisher_id).ToArray(),
                conversions = rows.Select(r => r.conversion_id).ToArray(), urls = rows.Select(r => r.url).ToArray(), now = now.UtcDateTime,
            }, tx);
    }

    public static string Expand(string template, ConversionRow c) => UrlMacros.Expand(template, c, Resolve);

    private static bool Resolve(ReadOnlySpan<char> name, ConversionRow c, out string? value)
    {
        switch (name)
        {
            case "click_id": value = c.ClickId; return true;
            case "conversion_id": value = c.Id; return true;
            case "offer_id": value = c.OfferId.ToString(CultureInfo.InvariantCulture); return true;
            case "aff_id": value = c.PublisherId.ToString(CultureInfo.InvariantCulture); return true;
            case "goal": value = c.Goal; return true;
            case "payout": value = c.Payout.ToString("0.00##", CultureInfo.InvariantCulture); return true;
            case "currency": value = c.Currency.Trim(); return true;
            case "status": value = c.Status; return true;
            case "txid": value = c.Txid; return true;
            case "sub1": value = c.Sub1; return true;
            case "sub2": value = c.Sub2; return true;
            case "sub3": value = c.Sub3; return true;
            case "sub4": value = c.Sub4; return true;
            case "sub5": value = c.Sub5; return true;
            case "source": value = c.Source; return true;
            default: value = null; return false;
        }
    }
}
