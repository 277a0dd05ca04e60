using AffiliateTracker.Access;
using System.Text.Json.Serialization;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Network;

public sealed record PublisherCreate(string? Name, [property: JsonConverter(typeof(MoneyJsonConverter))] decimal? MinPayout, string? PostbackUrl);
public sealed record PublisherUpdate(string? Name, string? Status, [property: JsonConverter(typeof(MoneyJsonConverter))] decimal? MinPayout, string? PostbackUrl);

public sealed class PublisherView
{
    public long Id { get; init; }
    public string Name { get; init; } = "";
    public string Status { get; init; } = "";
    public decimal MinPayout { get; init; }
    public string? PostbackUrl { get; init; }
    public string? PostbackPausedReason { get; init; }
    /// What a publisher who signed up said about themselves.
    public string? Website { get; init; }
    public string? TrafficSources { get; init; }
    public DateTime CreatedAt { get; init; }
}

public static class PublisherApi
{
    public static void MapPublishers(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/publishers").WithTags("Publishers");

        g.MapPost("/", async (PublisherCreate? body, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            caller.RequireAdmin();
            body = Validate.Body(body);
            var name = Validate.Name(body.Name);
            var minPayout = Validate.Money(body.MinPayout ?? 50m, "min_payout");
            var postbackUrl = PostbackUrl(body.PostbackUrl);
            await using var conn = await db.OpenConnectionAsync();
            var view = await conn.QuerySingleAsync<PublisherView>($"""
                INSERT INTO publishers (name, min_payout, postback_url) VALUES (@name, @minPayout, @postbackUrl)
                RETURNING {Columns}
                """, new { name, minPayout, postbackUrl });
            await network.ChangedAsync();
            return Results.Created($"/api/v1/publishers/{view.Id}", view);
        });

        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller);
        });

        g.MapGet("/{id:long}", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await GetAsync(conn, caller, id);
        });

        // Admins change anything; a publisher may change only its own postback URL.
        g.MapPatch("/{id:long}", async (long id, PublisherUpdate? body, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await UpdateAsync(conn, caller, network, id, Validate.Body(body));
        });
    }

    private const string Columns = "id, name, status, min_payout, postback_url, postback_paused_reason, website, traffic_sources, created_at";

    public static async Task<List<PublisherView>> ListAsync(NpgsqlConnection conn, Caller caller)
    {
        caller.RequireAdmin();
        return (await conn.QueryAsync<PublisherView>($"SELECT {Columns} FROM publishers ORDER BY status = 'pending' DESC, id")).ToList();
    }

    public static async Task<PublisherView> GetAsync(NpgsqlConnection conn, Caller caller, long id)
    {
        if (!caller.IsAdmin && caller.PublisherId != id) throw ApiException.NotFound("Publisher");
        return await conn.QuerySingleOrDefaultAsync<PublisherView>($"SELECT {Columns} FROM publishers WHERE id = @id", new { id })
            ?? throw ApiException.NotFound("Publisher");
    }

    /// Admins change anything (approving a pending publisher is status "active"); a publisher only its own postback URL.
    public static async Task<PublisherView> UpdateAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, long id, PublisherUpdate body)
    {
        if (!caller.IsAdmin && caller.PublisherId != id) throw ApiException.NotFound("Publisher");
        if (!caller.IsAdmin && (body.Name is not null || body.Status is not null || body.MinPayout is not null))
            throw ApiException.Forbidden("A publisher may change only its postback_url.");
        var name = body.Name is null ? null : Validate.Name(body.Name);
        var status = body.Status is null ? null : Validate.OneOf(body.Status, "status", "active", "suspended");
        var minPayout = body.MinPayout is { } m ? Validate.Money(m, "min_payout") : (decimal?)null;
        var setUrl = body.PostbackUrl is not null;
        var postbackUrl = setUrl ? PostbackUrl(body.PostbackUrl) : null;
        // A new postback URL clears an automatic pause: the publisher has fixed it.
        var view = await conn.QuerySingleOrDefaultAsync<PublisherView>($"""
            UPDATE publishers SET name = coalesce(@name, name), status = coalesce(@status, status),
                   min_payout = coalesce(@minPayout, min_payout),
                   postback_url = CASE WHEN @setUrl THEN @postbackUrl ELSE postback_url END,
                   postback_paused_reason = CASE WHEN @setUrl THEN NULL ELSE postback_paused_reason END,
                   updated_at = now()
            WHERE id = @id RETURNING {Columns}
            """, new { id, name, status, minPayout, setUrl, postbackUrl }) ?? throw ApiException.NotFound("Publisher");
        await network.ChangedAsync();
        return view;
    }

    // Publisher postback URLs carry macros anywhere after the host, like landing URLs; "" clears it.
    private static string? PostbackUrl(string? url) => LandingUrlRules.ValidatedOrNone(url, "postback_url");
}
