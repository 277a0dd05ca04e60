using Microsoft.AspNetCore.Mvc;
using AffiliateTracker.Storage;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Conversions;

public sealed record StatusChangeInput(string? Status, string? Reason);

public sealed record ConversionFilter(long? OfferId = null, long? PublisherId = null, string? Status = null, string? ClickId = null, string? Txid = null,
    DateTime? From = null, DateTime? To = null, string? Sub1 = null, string? Sub2 = null, string? Sub3 = null, string? Sub4 = null, string? Sub5 = null,
    int? Limit = null, string? Flag = null, bool Flagged = false);

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
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller, new ConversionFilter(offerId, publisherId, status, clickId, txid, from, to, sub1, sub2, sub3, sub4, sub5, limit));
        });

        g.MapGet("/{id}", async (string id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var row = await Find(conn, caller, id);
            var history = await conn.QueryAsync<StatusHistoryView>(
                "SELECT from_status, to_status, actor, reason, changed_at FROM conversion_status_history_entries WHERE conversion_id = @id ORDER BY changed_at, id", new { id });
            // The whole trail: the click it claims, every postback and pixel about it, its payout line.
            var click = await conn.QuerySingleOrDefaultAsync("""
                SELECT click_id, created_at, link_id, sub1, sub2, sub3, sub4, sub5, source, country, is_unique, is_bot
                FROM clicks WHERE click_id = @ClickId AND created_at = @ClickCreatedAt
                """, new { row.ClickId, row.ClickCreatedAt });
            var postbacks = caller.PublisherId is null
                ? await conn.QueryAsync<PostbackLogView>("""
                    SELECT id, received_at, via, advertiser_id, offer_id, click_id, txid, goal, decision, http_status, message, conversion_id,
                           host(remote_ip) AS remote_ip, query
                    FROM postback_log_entries WHERE conversion_id = @id OR (click_id = @ClickId AND (txid IS NOT DISTINCT FROM @Txid OR txid IS NULL))
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
            await using var conn = await db.OpenConnectionAsync();
            return Results.Ok(await ChangeStatusAsync(conn, caller, network, recorder, time, id, body.Status, body.Reason));
        });
    }

    /// The conversions a caller may see, newest first (the API's list and the console's conversion pages).
    public static async Task<List<ConversionRow>> ListAsync(NpgsqlConnection conn, Caller caller, ConversionFilter f)
    {
        if (f.Status is not null && !ConversionStatus.IsKnown(f.Status)) throw ApiException.Invalid("status", "must be pending, approved or rejected");
        if (f.Flag is not null && !ConversionRules.Flags.Contains(f.Flag)) throw ApiException.Invalid("flag", $"must be one of: {string.Join(", ", ConversionRules.Flags)}");
        var take = Math.Clamp(f.Limit ?? 100, 1, 1000);
        var rows = await conn.QueryAsync<ConversionRow>($"""
            SELECT * FROM conversions
            WHERE {Scope(caller)}
              AND (@OfferId::bigint IS NULL OR offer_id = @OfferId) AND (@PublisherId::bigint IS NULL OR publisher_id = @PublisherId)
              AND (@Status::text IS NULL OR status = @Status) AND (@ClickId::text IS NULL OR click_id = @ClickId)
              AND (@Txid::text IS NULL OR txid = @Txid)
              AND (@from::timestamptz IS NULL OR created_at >= @from) AND (@to::timestamptz IS NULL OR created_at < @to)
              AND (@Sub1::text IS NULL OR sub1 = @Sub1) AND (@Sub2::text IS NULL OR sub2 = @Sub2) AND (@Sub3::text IS NULL OR sub3 = @Sub3)
              AND (@Sub4::text IS NULL OR sub4 = @Sub4) AND (@Sub5::text IS NULL OR sub5 = @Sub5)
              AND (@Flag::text IS NULL OR @Flag = ANY(flags)) AND (NOT @Flagged OR cardinality(flags) > 0)
            ORDER BY created_at DESC, id DESC LIMIT @take
            """, new { f.OfferId, f.PublisherId, f.Status, f.ClickId, f.Txid, from = f.From?.ToUniversalTime(), to = f.To?.ToUniversalTime(),
                       f.Sub1, f.Sub2, f.Sub3, f.Sub4, f.Sub5, f.Flag, f.Flagged, take, callerAdvertiser = caller.AdvertiserId, callerPublisher = caller.PublisherId });
        return rows.Select(r => Redact(r, caller)).ToList();
    }

    /// Approves or rejects a conversion, with a reason: admins any (flagged ones included), advertisers their offers'.
    public static async Task<ConversionRow> ChangeStatusAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, ConversionRecorder recorder,
        TimeProvider time, string id, string? status, string? reason)
    {
        var to = Validate.OneOf(status, "status", ConversionStatus.Approved, ConversionStatus.Rejected);
        reason = Validate.Name(reason, "reason");
        if (caller.PublisherId is not null) throw ApiException.Forbidden("Publishers cannot change conversion statuses.");
        var before = await Find(conn, caller, id);
        var now = time.UtcNowForStorage();
        await using var tx = await conn.BeginTransactionAsync();
        var applied = await ConversionStore.ApplyChangeAsync(conn, tx, network.Current, id,
            new ConversionStatusChanged(EventIds.New(now), to, caller.Actor, reason, now), now, reviewer: caller.IsAdmin);
        await tx.CommitAsync();
        if (applied != ConversionStore.Applied.Changed && before.Status != to)
            throw ConversionRules.HeldForReview(before, to)
                ? new ApiException(409, "held_for_review", "Conversion is flagged for review; only an admin may approve it.")
                : new ApiException(409, "status_locked", $"Conversion is {before.Status}; it cannot become {to}.");
        await recorder.RememberStatusAsync(before.OfferId, before.Goal, before.DedupeKey, id, before.Status, to, reviewed: caller.IsAdmin);
        return Redact(await Find(conn, caller, id), caller);
    }

    public sealed class ClickView
    {
        public string ClickId { get; init; } = "";
        public DateTime CreatedAt { get; init; }
        public string? Ip { get; init; }
        public string? UserAgent { get; init; }
        public string? Referrer { get; init; }
        public string? Country { get; init; }
        public bool IsUnique { get; init; }
        public bool IsBot { get; init; }
        public string? DeviceType { get; init; }
        public string? Os { get; init; }
        public string? OsVersion { get; init; }
        public string? Browser { get; init; }
        public int? Asn { get; init; }
        public bool? IsDatacenter { get; init; }
    }

    /// The clicks behind conversions the caller already holds (the review queue shows them beside each conversion).
    public static async Task<Dictionary<string, ClickView>> ClicksOfAsync(NpgsqlConnection conn, IReadOnlyList<ConversionRow> rows)
    {
        if (rows.Count == 0) return [];
        var clicks = await conn.QueryAsync<ClickView>("""
            SELECT k.* FROM unnest(@ids, @times) AS c(id, at)
            CROSS JOIN LATERAL ( -- a primary-key probe per click, never a scan of the clicks table (see ConversionStore)
                SELECT click_id, created_at, host(ip) AS ip, user_agent, referrer, country, is_unique, is_bot,
                       device_type, os, os_version, browser, asn, is_datacenter
                FROM clicks WHERE click_id = c.id AND created_at = c.at LIMIT 1) k
            """, new { ids = rows.Select(r => r.ClickId).ToArray(), times = rows.Select(r => r.ClickCreatedAt).ToArray() });
        return clicks.GroupBy(c => c.ClickId).ToDictionary(g => g.Key, g => g.First());
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
