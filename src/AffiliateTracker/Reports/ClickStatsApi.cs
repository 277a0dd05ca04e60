using AffiliateTracker.Access;
using Microsoft.AspNetCore.Mvc;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Reports;

public sealed class ClickStatsRow
{
    public DateTime Day { get; init; }
    public long OfferId { get; init; }
    public long PublisherId { get; init; }
    public long Clicks { get; init; }
    public long UniqueClicks { get; init; }
    public long BotClicks { get; init; }
}

public static class ClickStatsApi
{
    /// Daily click counts per offer and publisher, in the caller's scope, from the flushed clicks.
    public static void MapClickStats(this RouteGroupBuilder api)
    {
        api.MapGet("/stats/clicks", async (Caller caller, AffiliateTracker.Storage.ReportDatabase reads, TimeProvider time, DateTime? from, DateTime? to, [FromQuery(Name = "offer_id")] long? offerId) =>
        {
            var earliest = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            var latest = new DateTime(2100, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            if (from is { } f && (f < earliest || f > latest)) throw ApiException.Invalid("from", "must be between 2000 and 2100");
            if (to is { } t && (t < earliest || t > latest)) throw ApiException.Invalid("to", "must be between 2000 and 2100");
            var until = (to ?? time.GetUtcNow().UtcDateTime.AddDays(1)).ToUniversalTime();
            var since = (from ?? until.AddDays(-30)).ToUniversalTime();
            if (since >= until) throw ApiException.Invalid("from", "must be before to");
            if (until - since > TimeSpan.FromDays(366)) throw ApiException.Invalid("from", "must be at most 366 days before to");
            await using var conn = await reads.OpenAsync();
            return await conn.QueryAsync<ClickStatsRow>($"""
                SELECT date_trunc('day', c.created_at AT TIME ZONE 'UTC') AS day, c.offer_id, c.publisher_id,
                       count(*) AS clicks, count(*) FILTER (WHERE c.is_unique AND NOT c.is_bot) AS unique_clicks,
                       count(*) FILTER (WHERE c.is_bot) AS bot_clicks
                FROM clicks c JOIN offers o ON o.id = c.offer_id
                WHERE c.created_at >= @since AND c.created_at < @until
                  AND (@offerId::bigint IS NULL OR c.offer_id = @offerId)
                  AND {caller.Scope("o.advertiser_id", "c.publisher_id")}
                GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """, new { since, until, offerId, callerPublisher = caller.PublisherId, callerAdvertiser = caller.AdvertiserId });
        }).WithTags("Stats");
    }
}
