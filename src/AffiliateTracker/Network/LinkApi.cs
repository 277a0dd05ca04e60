using AffiliateTracker.Access;
using Microsoft.AspNetCore.Mvc;
using System.Security.Cryptography;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Network;

public sealed record LinkCreate(long? OfferId, long? PublisherId);
public sealed record LinkUpdate(string? Status);

public sealed class LinkView
{
    public long Id { get; init; }
    public string Code { get; init; } = "";
    public long OfferId { get; init; }
    public long PublisherId { get; init; }
    public string Status { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    /// The URL a publisher pastes; sub1..sub5 and source may be appended as query parameters.
    public string TrackingUrl { get; set; } = "";
}

public static class LinkApi
{
    public static void MapLinks(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/links").WithTags("Tracking links");

        // Admins create links for any publisher with access; a publisher creates its own.
        g.MapPost("/", async (LinkCreate? body, Caller caller, PublicBaseUrl publicUrl, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var view = await CreateAsync(conn, caller, Validate.Body(body), publicUrl, network);
            return Results.Created($"/api/v1/links/{view.Id}", view);
        });

        g.MapGet("/", async (Caller caller, PublicBaseUrl publicUrl, NpgsqlDataSource db, [FromQuery(Name = "offer_id")] long? offerId, [FromQuery(Name = "publisher_id")] long? publisherId) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller, publicUrl, offerId, publisherId);
        });

        g.MapGet("/{id:long}", async (long id, Caller caller, PublicBaseUrl publicUrl, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return WithUrl(await Find(conn, caller, id), publicUrl);
        });

        g.MapPatch("/{id:long}", async (long id, LinkUpdate? body, Caller caller, PublicBaseUrl publicUrl, NpgsqlDataSource db, NetworkCache network) =>
        {
            body = Validate.Body(body);
            var status = Validate.OneOf(body.Status, "status", "active", "disabled");
            await using var conn = await db.OpenConnectionAsync();
            await Find(conn, caller, id);
            var view = await conn.QuerySingleAsync<LinkView>($"UPDATE tracking_links SET status = @status WHERE id = @id RETURNING {Columns}",
                new { id, status });
            await network.ChangedAsync();
            return WithUrl(view, publicUrl);
        });
    }

    private const string Columns = "id, code, offer_id, publisher_id, status, created_at";

    /// Admins create links for any publisher with access; a publisher creates its own.
    public static async Task<LinkView> CreateAsync(NpgsqlConnection conn, Caller caller, LinkCreate body, PublicBaseUrl publicUrl, NetworkCache network)
    {
        var offerId = Validate.Id(body.OfferId, "offer_id");
        var publisherId = PublisherFor(caller, body.PublisherId, "tracking links");

        if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM offer_access WHERE offer_id = @offerId AND publisher_id = @publisherId",
                new { offerId, publisherId }) == 0)
            throw ApiException.Invalid("offer_id", "is not an offer this publisher has access to");
        var view = await conn.QuerySingleAsync<LinkView>($"""
            INSERT INTO tracking_links (code, offer_id, publisher_id) VALUES (@code, @offerId, @publisherId)
            RETURNING {Columns}
            """, new { code = NewCode(), offerId, publisherId });
        await network.ChangedAsync();
        return WithUrl(view, publicUrl);
    }

    public static async Task<List<LinkView>> ListAsync(NpgsqlConnection conn, Caller caller, PublicBaseUrl publicUrl, long? offerId, long? publisherId)
    {
        if (!caller.IsAdmin && caller.PublisherId is null) throw ApiException.Forbidden("Tracking links are for admins and publishers.");
        var links = await conn.QueryAsync<LinkView>($"""
            SELECT {Columns} FROM tracking_links
            WHERE {caller.Scope(null, "publisher_id")}
              AND (@offerId::bigint IS NULL OR offer_id = @offerId) AND (@publisherId::bigint IS NULL OR publisher_id = @publisherId)
            ORDER BY id
            """, new { callerPublisher = caller.PublisherId, offerId, publisherId });
        return links.Select(l => WithUrl(l, publicUrl)).ToList();
    }

    /// The code of a publisher's active link for an offer (the one named, or their first), which creatives and
    /// product feeds are filled in with; null when they have none. A named link that is not theirs is a 400.
    public static async Task<string?> ActiveCodeAsync(NpgsqlConnection conn, long offerId, long publisherId, long? linkId)
    {
        var code = await conn.ExecuteScalarAsync<string?>("""
            SELECT code FROM tracking_links
            WHERE offer_id = @offerId AND publisher_id = @publisherId AND status = 'active' AND (@linkId::bigint IS NULL OR id = @linkId)
            ORDER BY id LIMIT 1
            """, new { offerId, publisherId, linkId });
        return linkId is not null && code is null ? throw ApiException.Invalid("link_id", "is not an active tracking link of yours for this offer") : code;
    }

    /// Whose link a caller creates: an admin names the publisher, a publisher creates its own.
    internal static long PublisherFor(Caller caller, long? requested, string what) =>
        caller.IsAdmin ? Validate.Id(requested, "publisher_id")
        : caller.PublisherId is { } own && (requested is null || requested == own) ? own
        : throw ApiException.Forbidden($"Only admins and the publisher itself create {what}.");

    // Another owner's link answers 404, exactly like a link that does not exist.
    private static async Task<LinkView> Find(NpgsqlConnection conn, Caller caller, long id)
    {
        var link = await conn.QuerySingleOrDefaultAsync<LinkView>($"SELECT {Columns} FROM tracking_links WHERE id = @id", new { id });
        return link is not null && (caller.IsAdmin || caller.PublisherId == link.PublisherId) ? link : throw ApiException.NotFound("Tracking link");
    }

    private static LinkView WithUrl(LinkView link, PublicBaseUrl publicUrl)
    {
        link.TrackingUrl = publicUrl.Link(link.Code);
        return link;
    }

    // 10 random base62 characters: about 59 bits, not guessable or enumerable.
    internal static string NewCode() =>
        RandomNumberGenerator.GetString("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 10);
}
