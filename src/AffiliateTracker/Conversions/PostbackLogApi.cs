using Microsoft.AspNetCore.Mvc;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Conversions;

public sealed class PostbackLogView
{
    public long Id { get; init; }
    public DateTime ReceivedAt { get; init; }
    public string Via { get; init; } = "";
    public long? AdvertiserId { get; init; }
    public long? OfferId { get; init; }
    public string? ClickId { get; init; }
    public string? Txid { get; init; }
    public string? Goal { get; init; }
    public string Decision { get; init; } = "";
    public int HttpStatus { get; init; }
    public string? Message { get; init; }
    public string? ConversionId { get; init; }
    public string? RemoteIp { get; init; }
    public string? Query { get; init; }
}

/// "Why was my conversion not counted?": every postback and pixel with its decision, searchable by
/// admins and by the advertiser (its own offers' postbacks only).
public static class PostbackLogApi
{
    public static void MapPostbackLogApi(this RouteGroupBuilder api)
    {
        api.MapGet("/postback-log", async (Caller caller, NpgsqlDataSource db, [FromQuery(Name = "click_id")] string? clickId, string? txid, string? decision,
            [FromQuery(Name = "offer_id")] long? offerId, [FromQuery(Name = "conversion_id")] string? conversionId, DateTime? from, DateTime? to, int? limit) =>
        {
            if (caller.PublisherId is not null) throw ApiException.Forbidden("The postback log is for admins and advertisers.");
            await using var conn = await db.OpenConnectionAsync();
            return await conn.QueryAsync<PostbackLogView>($"""
                SELECT id, received_at, via, advertiser_id, offer_id, click_id, txid, goal, decision, http_status, message,
                       conversion_id, host(remote_ip) AS remote_ip, query
                FROM postback_log
                WHERE {caller.Scope("advertiser_id")}
                  AND (@clickId::text IS NULL OR click_id = @clickId) AND (@txid::text IS NULL OR txid = @txid)
                  AND (@decision::text IS NULL OR decision = @decision) AND (@offerId::bigint IS NULL OR offer_id = @offerId)
                  AND (@conversionId::text IS NULL OR conversion_id = @conversionId)
                  AND (@from::timestamptz IS NULL OR received_at >= @from) AND (@to::timestamptz IS NULL OR received_at < @to)
                ORDER BY received_at DESC, id DESC LIMIT @take
                """, new { callerAdvertiser = caller.AdvertiserId, clickId, txid, decision, offerId, conversionId,
                           from = from?.ToUniversalTime(), to = to?.ToUniversalTime(), take = Math.Clamp(limit ?? 100, 1, 1000) });
        }).WithTags("Conversions");
    }
}
