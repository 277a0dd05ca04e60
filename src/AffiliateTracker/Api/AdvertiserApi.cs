using System.Net;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Api;

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
            caller.RequireAdmin();
            body = Validate.Body(body);
            var name = Validate.Name(body.Name);
            var ips = Ips(body.PostbackIps);
            var token = ApiKeys.NewSecret("pbt_");
            await using var conn = await db.OpenConnectionAsync();
            var view = await conn.QuerySingleAsync<AdvertiserView>($"""
                INSERT INTO advertisers (name, postback_ips, postback_token_hash) VALUES (@name, @ips, @hash)
                RETURNING {Columns}
                """, new { name, ips, hash = ApiKeys.Hash(token) });
            view.PostbackToken = token;
            await network.ChangedAsync();
            return Results.Created($"/api/v1/advertisers/{view.Id}", view);
        });

        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            caller.RequireAdmin();
            await using var conn = await db.OpenConnectionAsync();
            return await conn.QueryAsync<AdvertiserView>($"SELECT {Columns} FROM advertisers ORDER BY id");
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
            caller.RequireAdmin();
            body = Validate.Body(body);
            var name = body.Name is null ? null : Validate.Name(body.Name);
            var status = body.Status is null ? null : Validate.OneOf(body.Status, "status", "active", "suspended");
            var ips = body.PostbackIps is null ? null : Ips(body.PostbackIps);
            await using var conn = await db.OpenConnectionAsync();
            var view = await conn.QuerySingleOrDefaultAsync<AdvertiserView>($"""
                UPDATE advertisers SET name = coalesce(@name, name), status = coalesce(@status, status),
                       postback_ips = coalesce(@ips, postback_ips), updated_at = now()
                WHERE id = @id RETURNING {Columns}
                """, new { id, name, status, ips }) ?? throw ApiException.NotFound("Advertiser");
            await network.ChangedAsync();
            return view;
        });

        // Issues a new HMAC signing key (the previous one stops working at once); shown only in this response.
        g.MapPost("/{id:long}/signing-key", async (long id, Caller caller, NpgsqlDataSource db, NetworkCache network, AffiliateTracker.Conversions.PostbackSigning signing) =>
        {
            if (!caller.IsAdmin && caller.AdvertiserId != id) throw ApiException.NotFound("Advertiser");
            if (!signing.Available) throw new ApiException(409, "signing_unavailable", "Signed postbacks need Secrets:MasterKey configured on the server.");
            await using var conn = await db.OpenConnectionAsync();
            var version = await conn.QuerySingleOrDefaultAsync<int?>(
                "UPDATE advertisers SET signing_key_version = signing_key_version + 1, updated_at = now() WHERE id = @id RETURNING signing_key_version", new { id })
                ?? throw ApiException.NotFound("Advertiser");
            await network.ChangedAsync();
            return Results.Ok(new { signing_key = AffiliateTracker.Conversions.PostbackSigning.Show(signing.KeyFor(id, version)), algorithm = "HMAC-SHA256",
                header = $"{AffiliateTracker.Conversions.PostbackSigning.Header}: sha256=<hex of HMAC(signing_key, query string or POST body)>" });
        });

        // Issues a new postback token (the old one stops working at once); admins or the advertiser itself.
        g.MapPost("/{id:long}/postback-token", async (long id, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            if (!caller.IsAdmin && caller.AdvertiserId != id) throw ApiException.NotFound("Advertiser");
            var token = ApiKeys.NewSecret("pbt_");
            await using var conn = await db.OpenConnectionAsync();
            var rows = await conn.ExecuteAsync("UPDATE advertisers SET postback_token_hash = @hash, updated_at = now() WHERE id = @id",
                new { id, hash = ApiKeys.Hash(token) });
            if (rows == 0) throw ApiException.NotFound("Advertiser");
            await network.ChangedAsync();
            return Results.Ok(new { postback_token = token });
        });
    }

    private const string Columns = "id, name, status, postback_ips::text[] AS postback_ips, created_at";

    private static IPAddress[] Ips(string[]? values) =>
        (values ?? []).Select(v => IPAddress.TryParse(v, out var ip) ? ip
            : throw ApiException.Invalid("postback_ips", "must be IPv4 or IPv6 addresses")).ToArray();
}
