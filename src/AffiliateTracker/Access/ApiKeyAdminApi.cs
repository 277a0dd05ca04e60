using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Access;

public sealed record ApiKeyCreate(string? Role, long? AdvertiserId, long? PublisherId, string? Name);

public sealed class ApiKeyView
{
    public long Id { get; init; }
    public string Role { get; init; } = "";
    public long? AdvertiserId { get; init; }
    public long? PublisherId { get; init; }
    public string Name { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime? RevokedAt { get; init; }
}

public static class ApiKeyAdminApi
{
    public static void MapApiKeyAdmin(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/api-keys").WithTags("API keys");

        // The key is in this response only; the server keeps its hash.
        g.MapPost("/", async (ApiKeyCreate? body, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var (id, secret, role, advertiserId, publisherId, name) = await IssueAsync(conn, caller, Validate.Body(body));
            return Results.Created($"/api/v1/api-keys/{id}", new { id, role, advertiser_id = advertiserId, publisher_id = publisherId, name, key = secret });
        });

        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller);
        });

        g.MapDelete("/{id:long}", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            await RevokeAsync(conn, caller, id);
            return Results.NoContent();
        });
    }

    /// A key for any role and owner (admins); the secret is returned once and not stored.
    public static async Task<(long Id, string Secret, string Role, long? AdvertiserId, long? PublisherId, string Name)> IssueAsync(
        NpgsqlConnection conn, Caller caller, ApiKeyCreate body)
    {
        caller.RequireAdmin();
        var role = Validate.OneOf(body.Role, "role", Roles.All);
        long? advertiserId = role == Roles.Advertiser ? Validate.Id(body.AdvertiserId, "advertiser_id") : null;
        long? publisherId = role == Roles.Publisher ? Validate.Id(body.PublisherId, "publisher_id") : null;
        if (role != Roles.Advertiser && body.AdvertiserId is not null) throw ApiException.Invalid("advertiser_id", "is only for advertiser keys");
        if (role != Roles.Publisher && body.PublisherId is not null) throw ApiException.Invalid("publisher_id", "is only for publisher keys");
        var name = body.Name is null ? "" : Validate.Name(body.Name);
        if (advertiserId is { } a && await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM advertisers WHERE id = @a", new { a }) == 0)
            throw ApiException.Invalid("advertiser_id", "does not name an existing advertiser");
        if (publisherId is { } p && await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM publishers WHERE id = @p", new { p }) == 0)
            throw ApiException.Invalid("publisher_id", "does not name an existing publisher");
        var (id, secret) = await ApiKeys.IssueAsync(conn, role, advertiserId, publisherId, name);
        return (id, secret, role, advertiserId, publisherId, name);
    }

    public static async Task<List<ApiKeyView>> ListAsync(NpgsqlConnection conn, Caller caller)
    {
        caller.RequireAdmin();
        return (await conn.QueryAsync<ApiKeyView>("SELECT id, role, advertiser_id, publisher_id, name, created_at, revoked_at FROM api_keys ORDER BY id")).ToList();
    }

    public static async Task RevokeAsync(NpgsqlConnection conn, Caller caller, long id)
    {
        caller.RequireAdmin();
        var rows = await conn.ExecuteAsync("UPDATE api_keys SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL", new { id });
        if (rows == 0) throw ApiException.NotFound("Active API key");
    }
}
