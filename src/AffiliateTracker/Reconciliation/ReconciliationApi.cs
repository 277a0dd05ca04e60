using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Reconciliation;

/// Advertisers upload their own reports (admins on an advertiser's behalf); admins apply the differences.
public static class ReconciliationApi
{
    public static IServiceCollection AddReconciliation(this IServiceCollection services) => services.AddSingleton<ReconciliationService>();

    public static void MapReconciliationApi(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/reconciliations").WithTags("Reconciliation");

        // The body is the CSV itself (Content-Type: text/csv), read as a stream.
        g.MapPost("/", async (HttpRequest request, Caller caller, ReconciliationService service, NpgsqlDataSource db,
            [FromQuery(Name = "advertiser_id")] long? advertiserId, [FromQuery(Name = "offer_id")] long? offerId, DateTime? from, DateTime? to) =>
        {
            if (caller.PublisherId is not null) throw ApiException.Forbidden("Reconciliation is for advertisers and admins.");
            if (request.ContentType is not { } ct || !(ct.StartsWith("text/csv") || ct.StartsWith("text/plain") || ct.StartsWith("application/octet-stream")))
                throw new ApiException(415, "unsupported_media_type", "Send the report as the body, Content-Type: text/csv.");
            var summary = await UploadAsync(caller, service, db, request.Body, advertiserId, offerId, from, to);
            return Results.Created($"/api/v1/reconciliations/{summary.Id}", summary);
        });

        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller);
        });

        // The advertiser hands its uploaded report to the network, whose admin applies it.
        g.MapPost("/{id:long}/submit", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            await SubmitAsync(conn, caller, id);
            return Results.NoContent();
        });

        g.MapGet("/{id:long}", async (long id, Caller caller, ReconciliationService service, NpgsqlDataSource db) =>
        {
            if (caller.PublisherId is not null) throw ApiException.NotFound("Reconciliation");
            await using var conn = await db.OpenConnectionAsync();
            return await service.GetAsync(conn, id, caller.AdvertiserId) ?? throw ApiException.NotFound("Reconciliation");
        });

        g.MapGet("/{id:long}/items", async (long id, Caller caller, ReconciliationService service, NpgsqlDataSource db, string? kind, int? limit, int? offset) =>
        {
            if (caller.PublisherId is not null) throw ApiException.NotFound("Reconciliation");
            if (kind is not null && !ReconciliationService.Kinds.Contains(kind))
                throw ApiException.Invalid("kind", $"must be one of: {string.Join(", ", ReconciliationService.Kinds)}");
            await using (var conn = await db.OpenConnectionAsync())
                if (await service.GetAsync(conn, id, caller.AdvertiserId) is null) throw ApiException.NotFound("Reconciliation");
            return await service.ItemsAsync(id, kind, Math.Clamp(limit ?? 500, 1, 5000), Math.Max(0, offset ?? 0));
        });

        g.MapPost("/{id:long}/apply", async (long id, Caller caller, ReconciliationService service) =>
        {
            caller.RequireAdmin();
            return Results.Ok(new { reconciliation_id = id, applied_changes = await service.ApplyAsync(id, caller.Actor) });
        });
    }

    public static async Task<ReconciliationSummary> UploadAsync(Caller caller, ReconciliationService service, NpgsqlDataSource db, Stream csv,
        long? advertiserId, long? offerId, DateTime? from, DateTime? to)
    {
        if (caller.PublisherId is not null) throw ApiException.Forbidden("Reconciliation is for advertisers and admins.");
        var advertiser = caller.IsAdmin ? Validate.Id(advertiserId, "advertiser_id") : caller.AdvertiserId!.Value;
        if (!caller.IsAdmin && advertiserId is { } other && other != advertiser) throw ApiException.NotFound("Advertiser");
        await using (var conn = await db.OpenConnectionAsync())
        {
            if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM advertisers WHERE id = @advertiser", new { advertiser }) == 0)
                throw ApiException.Invalid("advertiser_id", "does not name an existing advertiser");
            if (offerId is { } o && await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM offers WHERE id = @o AND advertiser_id = @advertiser", new { o, advertiser }) == 0)
                throw ApiException.Invalid("offer_id", "is not an offer of this advertiser");
        }
        return await service.UploadAsync(csv, advertiser, offerId, from?.ToUniversalTime(), to?.ToUniversalTime(), caller.Actor);
    }

    public sealed class ReconciliationListItem
    {
        public long Id { get; init; }
        public long AdvertiserId { get; init; }
        public string AdvertiserName { get; init; } = "";
        public long? OfferId { get; init; }
        public string UploadedBy { get; init; } = "";
        public DateTime CreatedAt { get; init; }
        public int RowsRead { get; init; }
        public int RowsMalformed { get; init; }
        public DateTime? SubmittedAt { get; init; }
        public DateTime? AppliedAt { get; init; }
        public int? AppliedChanges { get; init; }
    }

    /// Reconciliations newest first: an advertiser's own, every one for admins.
    public static async Task<List<ReconciliationListItem>> ListAsync(NpgsqlConnection conn, Caller caller)
    {
        if (caller.PublisherId is not null) throw ApiException.Forbidden("Reconciliation is for advertisers and admins.");
        return (await conn.QueryAsync<ReconciliationListItem>($"""
            SELECT r.id, r.advertiser_id, a.name AS advertiser_name, r.offer_id, r.uploaded_by, r.created_at, r.rows_read, r.rows_malformed,
                   r.submitted_at, r.applied_at, r.applied_changes
            FROM reconciliations r JOIN advertisers a ON a.id = r.advertiser_id
            WHERE {caller.Scope("r.advertiser_id")}
            ORDER BY r.id DESC LIMIT 200
            """, new { callerAdvertiser = caller.AdvertiserId })).ToList();
    }

    public static async Task SubmitAsync(NpgsqlConnection conn, Caller caller, long id)
    {
        if (caller.PublisherId is not null) throw ApiException.NotFound("Reconciliation");
        var rows = await conn.ExecuteAsync($"""
            UPDATE reconciliations r SET submitted_at = coalesce(submitted_at, now()) WHERE id = @id AND {caller.Scope("r.advertiser_id")}
            """, new { id, callerAdvertiser = caller.AdvertiserId });
        if (rows == 0) throw ApiException.NotFound("Reconciliation");
    }
}
