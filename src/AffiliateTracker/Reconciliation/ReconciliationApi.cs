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
            var advertiser = caller.IsAdmin ? Validate.Id(advertiserId, "advertiser_id") : caller.AdvertiserId!.Value;
            if (!caller.IsAdmin && advertiserId is { } other && other != advertiser) throw ApiException.NotFound("Advertiser");
            if (request.ContentType is not { } ct || !(ct.StartsWith("text/csv") || ct.StartsWith("text/plain") || ct.StartsWith("application/octet-stream")))
                throw new ApiException(415, "unsupported_media_type", "Send the report as the body, Content-Type: text/csv.");
            await using (var conn = await db.OpenConnectionAsync())
            {
                if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM advertisers WHERE id = @advertiser", new { advertiser }) == 0)
                    throw ApiException.Invalid("advertiser_id", "does not name an existing advertiser");
                if (offerId is { } o && await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM offers WHERE id = @o AND advertiser_id = @advertiser", new { o, advertiser }) == 0)
                    throw ApiException.Invalid("offer_id", "is not an offer of this advertiser");
            }
            var summary = await service.UploadAsync(request.Body, advertiser, offerId, from?.ToUniversalTime(), to?.ToUniversalTime(),
                caller.Actor);
            return Results.Created($"/api/v1/reconciliations/{summary.Id}", summary);
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
}
