using Microsoft.AspNetCore.Mvc;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.PublisherPostbacks;

public sealed class DeliveryView
{
    public long Id { get; init; }
    public long PublisherId { get; init; }
    public string ConversionId { get; init; } = "";
    public string Url { get; init; } = "";
    public string State { get; init; } = "";
    public int Attempts { get; init; }
    public int? LastStatusCode { get; init; }
    public string? LastError { get; init; }
    public DateTime NextAttemptAt { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? DeliveredAt { get; init; }
}

/// The publisher's delivery log: each postback we sent them, its state, and every attempt.
public static class PublisherPostbackApi
{
    public static void MapPublisherPostbackApi(this RouteGroupBuilder api)
    {
        api.MapGet("/publisher-postbacks", async (Caller caller, NpgsqlDataSource db, [FromQuery(Name = "publisher_id")] long? publisherId, [FromQuery(Name = "conversion_id")] string? conversionId, string? state, int? limit) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var deliveries = await DeliveriesAsync(conn, caller, publisherId, conversionId, state, limit);
            return deliveries.Select(d => new { delivery = d.Delivery, attempts = d.Attempts });
        }).WithTags("Publisher postbacks");

        // Fires the publisher's saved postback URL once with sample values and shows the answer.
        api.MapPost("/publisher-postbacks/test", async (Caller caller, NpgsqlDataSource db, PublisherPostbackSender sender,
            [FromQuery(Name = "publisher_id")] long? publisherId, CancellationToken ct) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await TestAsync(conn, caller, sender, publisherId, ct);
        }).WithTags("Publisher postbacks");
    }

    public sealed class AttemptRow
    {
        public long PostbackId { get; init; }
        public DateTime AttemptedAt { get; init; }
        public int? StatusCode { get; init; }
        public string? Error { get; init; }
        public int DurationMs { get; init; }
    }

    public static async Task<PublisherPostbackSender.TestFire> TestAsync(NpgsqlConnection conn, Caller caller, PublisherPostbackSender sender,
        long? publisherId, CancellationToken ct)
    {
        if (caller.IsAdvertiser) throw ApiException.Forbidden("Publisher postbacks are for admins and publishers.");
        var id = caller.IsAdmin ? Validate.Id(publisherId, "publisher_id")
            : publisherId is null || publisherId == caller.PublisherId ? caller.PublisherId!.Value : throw ApiException.NotFound("Publisher");
        var url = await conn.QuerySingleOrDefaultAsync<string?>("SELECT postback_url FROM publishers WHERE id = @id", new { id });
        if (string.IsNullOrEmpty(url)) throw new ApiException(409, "no_postback_url", "Save a postback URL first.");
        return await sender.TestAsync(url, id, ct);
    }

    public static async Task<List<(DeliveryView Delivery, List<AttemptRow> Attempts)>> DeliveriesAsync(NpgsqlConnection conn, Caller caller,
        long? publisherId, string? conversionId, string? state, int? limit)
    {
        if (!caller.IsAdmin && caller.PublisherId is null) throw ApiException.Forbidden("Delivery logs are for admins and publishers.");
        var deliveries = (await conn.QueryAsync<DeliveryView>($"""
            SELECT id, publisher_id, conversion_id, url, state, attempts, last_status_code, last_error, next_attempt_at, created_at, delivered_at
            FROM publisher_postbacks
            WHERE {caller.Scope(null, "publisher_id")} AND (@publisherId::bigint IS NULL OR publisher_id = @publisherId)
              AND (@conversionId::text IS NULL OR conversion_id = @conversionId) AND (@state::text IS NULL OR state = @state)
            ORDER BY created_at DESC, id DESC LIMIT @take
            """, new { callerPublisher = caller.PublisherId, publisherId, conversionId, state,
                       take = Math.Clamp(limit ?? 100, 1, 1000) })).ToList();
        var attempts = (await conn.QueryAsync<AttemptRow>("""
            SELECT postback_id, attempted_at, status_code, error, duration_ms FROM publisher_postback_attempts
            WHERE postback_id = ANY(@ids) ORDER BY attempted_at, id
            """, new { ids = deliveries.Select(d => d.Id).ToArray() })).ToLookup(a => a.PostbackId);
        return deliveries.Select(d => (d, attempts[d.Id].ToList())).ToList();
    }
}
