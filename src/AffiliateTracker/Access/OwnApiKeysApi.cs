using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Access;

public sealed record OwnApiKeyCreate(string? Name);

/// Every caller's own keys under /api/v1/me/api-keys, and the console's API keys page: a key always has its
/// issuer's role and owner, so nobody can give themselves more than they have. Admins manage everyone's keys
/// through /api/v1/api-keys.
public static class OwnApiKeysApi
{
    public static void MapOwnApiKeys(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/me/api-keys").WithTags("API keys");
        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller);
        });
        // The key is in this response only; the server keeps its hash.
        g.MapPost("/", async (OwnApiKeyCreate? body, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var (id, secret) = await IssueAsync(conn, caller, Validate.Body(body).Name, userId: null);
            return Results.Created($"/api/v1/me/api-keys/{id}", new { id, role = caller.Role, advertiser_id = caller.AdvertiserId,
                publisher_id = caller.PublisherId, name = body!.Name?.Trim() ?? "", key = secret });
        });
        g.MapDelete("/{id:long}", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            await RevokeAsync(conn, caller, id);
            return Results.NoContent();
        });
    }

    // The same role and owner as the caller: an admin's own keys are the admin keys.
    private static string Mine => "role = @role AND advertiser_id IS NOT DISTINCT FROM @advertiserId AND publisher_id IS NOT DISTINCT FROM @publisherId";
    private static object Args(Caller c) => new { role = c.Role, advertiserId = c.AdvertiserId, publisherId = c.PublisherId };

    public static async Task<IReadOnlyList<ApiKeyView>> ListAsync(NpgsqlConnection conn, Caller caller) =>
        (await conn.QueryAsync<ApiKeyView>($"SELECT id, role, advertiser_id, publisher_id, name, created_at, revoked_at FROM api_keys WHERE {Mine} ORDER BY id DESC LIMIT 500",
            Args(caller))).ToList();

    public static async Task<(long Id, string Secret)> IssueAsync(NpgsqlConnection conn, Caller caller, string? name, long? userId)
    {
        name = name is null ? "" : Validate.Name(name);
        var (id, secret) = await ApiKeys.IssueAsync(conn, caller.Role, caller.AdvertiserId, caller.PublisherId, name);
        if (userId is not null) await conn.ExecuteAsync("UPDATE api_keys SET user_id = @userId WHERE id = @id", new { id, userId });
        return (id, secret);
    }

    public static async Task RevokeAsync(NpgsqlConnection conn, Caller caller, long id)
    {
        var rows = await conn.ExecuteAsync($"UPDATE api_keys SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL AND {Mine}",
            new { id, role = caller.Role, advertiserId = caller.AdvertiserId, publisherId = caller.PublisherId });
        if (rows == 0) throw ApiException.NotFound("Active API key");
    }
}
