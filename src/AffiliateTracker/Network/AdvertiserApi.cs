using AffiliateTracker.Access;
using System.Net;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Network;

public sealed record AdvertiserCreate(string? Name, string[]? PostbackIps);
public sealed record AdvertiserUpdate(string? Name, string? Status, string[]? PostbackIps);

public sealed class AdvertiserView
{
    public long Id { get; init; }
    public string Name { get; init; } = "";
    public string Status { get; init; } = "";
    public string[] PostbackIps { get; init; } = [];
    public DateTime CreatedAt { get; init; }
    /// Shown only when the token is issued; it is stored hashed.
    public string? PostbackToken { get; set; }
}

public static class AdvertiserApi
{
    public static void MapAdvertisers(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/advertisers").WithTags("Advertisers");

        g.MapPost("/", async (AdvertiserCreate? body, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var view = await CreateAsync(conn, caller, network, Validate.Body(body));
            return Results.Created($"/api/v1/advertisers/{view.Id}", view);
        });

        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller);
        });

        g.MapGet("/{id:long}", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            if (!caller.IsAdmin && caller.AdvertiserId != id) throw ApiException.NotFound("Advertiser");
            await using var conn = await db.OpenConnectionAsync();
            return await conn.QuerySingleOrDefaultAsync<AdvertiserView>($"SELECT {Columns} FROM advertisers WHERE id = @id", new { id })
                ?? throw ApiException.NotFound("Advertiser");
        });

        g.MapPatch("/{id:long}", async (long id, AdvertiserUpdate? body, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await UpdateAsync(conn, caller, network, id, Validate.Body(body));
        });
    }

    /// A new advertiser and its first postback token (shown once, in the answer).
    public static async Task<AdvertiserView> CreateAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, AdvertiserCreate body)
    {
        caller.RequireAdmin();
        var name = Validate.Name(body.Name);
        var ips = Ips(body.PostbackIps);
        var token = ApiKeys.NewSecret("pbt_");
        var view = await conn.QuerySingleAsync<AdvertiserView>($"""
            INSERT INTO advertisers (name, postback_ips, postback_token_hash) VALUES (@name, @ips, @hash)
            RETURNING {Columns}
            """, new { name, ips, hash = ApiKeys.Hash(token) });
        view.PostbackToken = token;
        await network.ChangedAsync();
        return view;
    }

    public static async Task<List<AdvertiserView>> ListAsync(NpgsqlConnection conn, Caller caller)
    {
        caller.RequireAdmin();
        return (await conn.QueryAsync<AdvertiserView>($"SELECT {Columns} FROM advertisers ORDER BY id")).ToList();
    }

    public static async Task<AdvertiserView> UpdateAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, long id, AdvertiserUpdate body)
    {
        caller.RequireAdmin();
        var name = body.Name is null ? null : Validate.Name(body.Name);
        var status = body.Status is null ? null : Validate.OneOf(body.Status, "status", "active", "suspended");
        var ips = body.PostbackIps is null ? null : Ips(body.PostbackIps);
        var view = await conn.QuerySingleOrDefaultAsync<AdvertiserView>($"""
            UPDATE advertisers SET name = coalesce(@name, name), status = coalesce(@status, status),
                   postback_ips = coalesce(@ips, postback_ips), updated_at = now()
            WHERE id = @id RETURNING {Columns}
            """, new { id, name, status, ips }) ?? throw ApiException.NotFound("Advertiser");
        await network.ChangedAsync();
        return view;
    }

    private const string Columns = "id, name, status, postback_ips::text[] AS postback_ips, created_at";

    private static IPAddress[] Ips(string[]? values) =>
        (values ?? []).Select(v => IPAddress.TryParse(v, out var ip) ? ip
            : throw ApiException.Invalid("postback_ips", "must be IPv4 or IPv6 addresses")).ToArray();
}
