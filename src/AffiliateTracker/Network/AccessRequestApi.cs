using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Network;

public sealed record AccessRequestInput(string? Message);
public sealed record AccessDecisionInput(string? Reason);

public sealed class AccessRequestView
{
    public long Id { get; init; }
    public long OfferId { get; init; }
    public string OfferName { get; init; } = "";
    public long PublisherId { get; init; }
    public string PublisherName { get; init; } = "";
    public string Status { get; init; } = "";
    public string Message { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime? DecidedAt { get; init; }
    public string? Reason { get; init; }
}

/// An offer in a publisher's catalog: its terms as the publisher sees them, and where the publisher stands with it.
public sealed record CatalogOffer(OfferView Offer, string Access);

/// The offer catalog and access requests: publishers see the offers they run and the active public ones, ask to
/// run a public one, and an admin grants or declines.
public static class AccessRequestApi
{
    public static void MapAccessRequests(this RouteGroupBuilder api)
    {
        api.MapGet("/offer-catalog", async (Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return (await CatalogAsync(conn, caller)).Select(c => new { offer = c.Offer, access = c.Access });
        }).WithTags("Offers");

        api.MapPost("/offers/{id:long}/access-requests", async (long id, AccessRequestInput? body, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var request = await RequestAsync(conn, caller, id, body?.Message);
            return Results.Created($"/api/v1/access-requests/{request.Id}", request);
        }).WithTags("Offers");

        var g = api.MapGroup("/access-requests").WithTags("Offers");
        g.MapGet("/", async (Caller caller, NpgsqlDataSource db, string? status) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller, status);
        });
        g.MapPost("/{id:long}/approve", async (long id, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await DecideAsync(conn, caller, network, id, approve: true, reason: null);
        });
        g.MapPost("/{id:long}/decline", async (long id, AccessDecisionInput? body, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await DecideAsync(conn, caller, network, id, approve: false, body?.Reason);
        });
    }

    /// The publisher's catalog: offers granted to them and active public ones, each with "granted", "requested",
    /// "declined" (the last request was declined) or "none".
    public static async Task<List<CatalogOffer>> CatalogAsync(NpgsqlConnection conn, Caller caller)
    {
        if (!caller.IsPublisher) throw ApiException.Forbidden("The offer catalog is for publishers; admins and advertisers list offers.");
        var offers = await OfferApi.LoadManyAsync(conn, caller, "true", new { }, withPublic: true);
        var states = (await conn.QueryAsync<(long OfferId, string Access)>("""
            SELECT offer_id, 'granted' FROM offer_access WHERE publisher_id = @publisherId
            UNION ALL
            SELECT DISTINCT ON (offer_id) offer_id, CASE status WHEN 'pending' THEN 'requested' WHEN 'declined' THEN 'declined' ELSE 'none' END
            FROM access_requests WHERE publisher_id = @publisherId AND offer_id NOT IN (SELECT offer_id FROM offer_access WHERE publisher_id = @publisherId)
            ORDER BY 1, 2
            """, new { publisherId = caller.PublisherId })).ToDictionary(s => s.OfferId, s => s.Access);
        return offers.Select(o => new CatalogOffer(o, states.GetValueOrDefault(o.Id, "none"))).ToList();
    }

    public static async Task<AccessRequestView> RequestAsync(NpgsqlConnection conn, Caller caller, long offerId, string? message)
    {
        if (!caller.IsPublisher) throw ApiException.Forbidden("Only publishers ask for access to offers.");
        message = Validate.Text(message, "message", 1000);
        var offer = await conn.QuerySingleOrDefaultAsync<(string Visibility, string Status)?>("SELECT visibility, status FROM offers WHERE id = @offerId", new { offerId });
        var granted = await conn.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM offer_access WHERE offer_id = @offerId AND publisher_id = @publisherId)",
            new { offerId, publisherId = caller.PublisherId });
        // A private offer is not confirmed to exist for a publisher who was not granted it.
        if (offer is null || (!granted && offer.Value is not { Visibility: "public", Status: "active" })) throw ApiException.NotFound("Offer");
        if (granted) throw new ApiException(409, "already_granted", "You already run this offer.");
        var id = await conn.ExecuteScalarAsync<long?>("""
            INSERT INTO access_requests (offer_id, publisher_id, message) VALUES (@offerId, @publisherId, @message)
            ON CONFLICT (offer_id, publisher_id) WHERE status = 'pending' DO NOTHING RETURNING id
            """, new { offerId, publisherId = caller.PublisherId, message })
            ?? throw new ApiException(409, "already_requested", "You already asked for this offer; an admin will decide.");
        return (await ListAsync(conn, caller, null, id)).Single();
    }

    /// Admins see every request, publishers their own; advertisers do not see who asks to run their offers.
    public static async Task<List<AccessRequestView>> ListAsync(NpgsqlConnection conn, Caller caller, string? status, long? id = null)
    {
        if (caller.IsAdvertiser) throw ApiException.Forbidden("Access requests are for admins and publishers.");
        if (status is not null) Validate.OneOf(status, "status", "pending", "approved", "declined");
        return (await conn.QueryAsync<AccessRequestView>($"""
            SELECT r.id, r.offer_id, o.name AS offer_name, r.publisher_id, p.name AS publisher_name, r.status, r.message, r.created_at,
                   r.decided_at, r.reason
            FROM access_requests r JOIN offers o ON o.id = r.offer_id JOIN publishers p ON p.id = r.publisher_id
            WHERE {caller.Scope(null, "r.publisher_id")}
              AND (@status::text IS NULL OR r.status = @status) AND (@id::bigint IS NULL OR r.id = @id)
            ORDER BY r.status = 'pending' DESC, r.created_at DESC LIMIT 500
            """, new { status, id, callerAdvertiser = caller.AdvertiserId, callerPublisher = caller.PublisherId })).ToList();
    }

    /// An admin approves (the publisher is granted the offer, with the offer's own caps and payouts) or declines.
    public static async Task<AccessRequestView> DecideAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, long id, bool approve, string? reason)
    {
        caller.RequireAdmin();
        reason = reason is null ? null : Validate.Text(reason, "reason", 1000);
        await using var tx = await conn.BeginTransactionAsync();
        var request = await conn.QuerySingleOrDefaultAsync<(long OfferId, long PublisherId, string Status)?>(
            "SELECT offer_id, publisher_id, status FROM access_requests WHERE id = @id FOR UPDATE", new { id }, tx)
            ?? throw ApiException.NotFound("Access request");
        if (request.Status != "pending") throw new ApiException(409, "already_decided", $"This request was already {request.Status}.");
        await conn.ExecuteAsync("UPDATE access_requests SET status = @status, decided_at = now(), decided_by = @actor, reason = @reason WHERE id = @id",
            new { id, status = approve ? "approved" : "declined", actor = caller.Actor, reason }, tx);
        if (approve)
            await conn.ExecuteAsync("INSERT INTO offer_access (offer_id, publisher_id) VALUES (@OfferId, @PublisherId) ON CONFLICT DO NOTHING",
                new { request.OfferId, request.PublisherId }, tx);
        await tx.CommitAsync();
        if (approve) await network.ChangedAsync();
        return (await ListAsync(conn, caller, null, id)).Single();
    }
}
