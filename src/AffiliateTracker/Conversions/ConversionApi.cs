using Microsoft.AspNetCore.Mvc;
using AffiliateTracker.Storage;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Conversions;

public sealed record StatusChangeInput(string? Status, string? Reason);

public sealed class StatusHistoryView
{
    public string? FromStatus { get; init; }
    public string ToStatus { get; init; } = "";
    public string Actor { get; init; } = "";
    public string? Reason { get; init; }
    public DateTime ChangedAt { get; init; }
}

/// Conversions through the management API: admins see all, advertisers their offers', publishers their
/// own (without revenue). Admins and the owning advertiser change statuses, with a reason.
public static class ConversionApi
{
    public static void MapConversionApi(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/conversions").WithTags("Conversions");

        g.MapGet("/", async (Caller caller, NpgsqlDataSource db, [FromQuery(Name = "offer_id")] long? offerId, [FromQuery(Name = "publisher_id")] long? publisherId, string? status, [FromQuery(Name = "click_id")] string? clickId, string? txid,
            DateTime? from, DateTime? to, string? sub1, string? sub2, string? sub3, string? sub4, string? sub5, int? limit) =>
        {
            if (status is not null && !ConversionStatus.IsKnown(status)) throw ApiException.Invalid("status", "must be pending, approved or rejected");
            var take = Math.Clamp(limit ?? 100, 1, 1000);
            await using var conn = await db.OpenConnectionAsync();
            var rows = await conn.QueryAsync<ConversionRow>($"""
                SELECT * FROM conversions
                WHERE {Scope(caller)}
                  AND (@offerId::bigint IS NULL OR offer_id = @offerId) AND (@publisherId::bigint IS NULL OR publisher_id = @publisherId)
                  AND (@status::text IS NULL OR status = @status) AND (@clickId::text IS NULL OR click_id = @clickId)
                  AND (@txid::text IS NULL OR txid = @txid)
                  AND (@from::timestamptz IS NULL OR created_at >= @from) AND (@to::timestamptz IS NULL OR created_at < @to)
                  AND (@sub1::text IS NULL OR sub1 = @sub1) AND (@sub2::text IS NULL OR sub2 = @sub2) AND (@sub3::text IS NULL OR sub3 = @sub3)
                  AND (@sub4::text IS NULL OR sub4 = @sub4) AND (@sub5::text IS NULL OR sub5 = @sub5)
                ORDER BY created_at DESC, id DESC LIMIT @take
                """, new { offerId, publisherId, status, clickId, txid, from = from?.ToUniversalTime(), to = to?.ToUniversalTime(),
                           sub1, sub2, sub3, sub4, sub5, take, callerAdvertiser = caller.AdvertiserId, callerPublisher = caller.PublisherId });
            return rows.Select(r => Redact(r, caller));
        });

        g.MapGet("/{id}", async (string id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var row = await Find(conn, caller, id);
            var history = await conn.QueryAsync<StatusHistoryView>(
                "SELECT from_status, to_status, actor, reason, changed_at FROM conversion_status_history WHERE conversion_id = @id ORDER BY changed_at, id", new { id });
            // The whole trail: the click it claims, every postback and pixel about it, its payout line.
            var click = await conn.QuerySingleOrDefaultAsync("""
                SELECT click_id, created_at, link_id, sub1, sub2, sub3, sub4, sub5, source, country, is_unique, is_bot
                FROM clicks WHERE click_id = @ClickId AND created_at = @ClickCreatedAt
                """, new { row.ClickId, row.ClickCreatedAt });
            var postbacks = caller.PublisherId is null
                ? await conn.QueryAsync<PostbackLogView>("""
                    SELECT id, received_at, via, advertiser_id, offer_id, click_id, txid, goal, decision, http_status, message, conversion_id,
                           host(remote_ip) AS remote_ip, query
                    FROM postback_log WHERE conversion_id = @id OR (click_id = @ClickId AND (txid IS NOT DISTINCT FROM @Txid OR txid IS NULL))
                    ORDER BY received_at, id
                    """, new { id, row.ClickId, row.Txid })
                : [];
            var payoutLine = await conn.QuerySingleOrDefaultAsync<long?>("SELECT payout_line_id FROM conversions WHERE id = @id", new { id });
            return Results.Ok(new { conversion = Redact(row, caller), history, click, postbacks, payout_line_id = payoutLine });
        });

        g.MapPost("/{id}/status", async (string id, StatusChangeInput? body, Caller caller, NpgsqlDataSource db, NetworkCache network,
            ConversionRecorder recorder, TimeProvider time) =>
        {
            body = Validate.Body(body);
            var to = Validate.OneOf(body.Status, "status", ConversionStatus.Approved, ConversionStatus.Rejected);
            var reason = Validate.Name(body.Reason, "reason");
            if (caller.PublisherId is not null) throw ApiException.Forbidden("Publishers cannot change conversion statuses.");
            await using var conn = await db.OpenConnectionAsync();
            var before = await Find(conn, caller, id);
            var now = time.UtcNowForStorage();
            await using var tx = await conn.BeginTransactionAsync();
            var actor = caller.Actor;
            var applied = await ConversionStore.ApplyChangeAsync(conn, tx, network.Current, id,
                new ConversionStatusChanged(Guid.NewGuid(), to, actor, reason, now), now, reviewer: caller.IsAdmin);
            await tx.CommitAsync();
            if (applied != ConversionStore.Applied.Changed && before.Status != to)
                throw ConversionRules.HeldForReview(before, to)
                    ? new ApiException(409, "held_for_review", "Conversion is flagged for review; only an admin may approve it.")
                    : new ApiException(409, "status_locked", $"Conversion is {before.Status}; it cannot become {to}.");
            await recorder.RememberStatusAsync(before.OfferId, before.Goal, before.DedupeKey, id, before.Status, to, reviewed: caller.IsAdmin);
            return Results.Ok(Redact(await Find(conn, caller, id), caller));
        });
    }

    internal static string Scope(Caller caller) => caller.Scope("advertiser_id", "publisher_id");

    private static async Task<ConversionRow> Find(NpgsqlConnection conn, Caller caller, string id) =>
        await conn.QuerySingleOrDefaultAsync<ConversionRow>($"SELECT * FROM conversions WHERE id = @id AND {Scope(caller)}",
            new { id, callerAdvertiser = caller.AdvertiserId, callerPublisher = caller.PublisherId })
        ?? throw ApiException.NotFound("Conversion");

    // What the network earns is not the publisher's business.
    private static ConversionRow Redact(ConversionRow row, Caller caller)
    {
        if (caller.IsPublisher) row.Revenue = null;
        return row;
    }
}
