using Microsoft.AspNetCore.Mvc;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Conversions;

public sealed class PostbackLogView
{
    /// The log entry's id; for a postback that created a conversion, the conversion's id.
    public string Id { get; init; } = "";
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
            await using var conn = await db.OpenConnectionAsync();
            return await SearchAsync(conn, caller, new PostbackLogFilter(clickId, txid, decision, offerId, conversionId, from, to, limit));
        }).WithTags("Conversions");
    }

    public static async Task<List<PostbackLogView>> SearchAsync(NpgsqlConnection conn, Caller caller, PostbackLogFilter f)
    {
        if (caller.PublisherId is not null) throw ApiException.Forbidden("The postback log is for admins and advertisers.");
        return (await conn.QueryAsync<PostbackLogView>($"""
            SELECT id, received_at, via, advertiser_id, offer_id, click_id, txid, goal, decision, http_status, message,
                   conversion_id, host(remote_ip) AS remote_ip, query
            FROM postback_log_entries
            WHERE {caller.Scope("advertiser_id")}
              AND (@ClickId::text IS NULL OR click_id = @ClickId) AND (@Txid::text IS NULL OR txid = @Txid)
              AND (@Decision::text IS NULL OR decision = @Decision) AND (@OfferId::bigint IS NULL OR offer_id = @OfferId)
              AND (@ConversionId::text IS NULL OR conversion_id = @ConversionId)
              AND (@from::timestamptz IS NULL OR received_at >= @from) AND (@to::timestamptz IS NULL OR received_at < @to)
            ORDER BY received_at DESC, id DESC LIMIT @take
            """, new { callerAdvertiser = caller.AdvertiserId, f.ClickId, f.Txid, f.Decision, f.OfferId, f.ConversionId,
                       from = f.From?.ToUniversalTime(), to = f.To?.ToUniversalTime(), take = Math.Clamp(f.Limit ?? 100, 1, 1000) })).ToList();
    }
}

public sealed record PostbackLogFilter(string? ClickId = null, string? Txid = null, string? Decision = null, long? OfferId = null,
    string? ConversionId = null, DateTime? From = null, DateTime? To = null, int? Limit = null);
