using AffiliateTracker.Access;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Conversions;

/// An advertiser's credentials for postbacks: the token, and the HMAC signing key for signed postbacks and
/// signed pixels. Each is shown once, when issued; issuing a new one revokes the old at once. Admins, or the
/// advertiser itself.
public static class PostbackCredentialsApi
{
    public static void MapPostbackCredentials(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/advertisers").WithTags("Advertisers");

        // Issues a new HMAC signing key (the previous one stops working at once); shown only in this response.
        g.MapPost("/{id:long}/signing-key", async (long id, Caller caller, NpgsqlDataSource db, NetworkCache network, PostbackSigning signing) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return Results.Ok(new { signing_key = await IssueSigningKeyAsync(conn, caller, network, signing, id), algorithm = "HMAC-SHA256",
                header = $"{PostbackSigning.Header}: sha256=<hex of HMAC(signing_key, query string or POST body)>" });
        });

        // Issues a new postback token (the old one stops working at once); admins or the advertiser itself.
        g.MapPost("/{id:long}/postback-token", async (long id, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return Results.Ok(new { postback_token = await IssueTokenAsync(conn, caller, network, id) });
        });
    }

    /// A new HMAC signing key for the advertiser's postbacks; the previous one stops working at once. Shown once.
    public static async Task<string> IssueSigningKeyAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, PostbackSigning signing, long id)
    {
        if (!caller.IsAdmin && caller.AdvertiserId != id) throw ApiException.NotFound("Advertiser");
        if (!signing.Available) throw new ApiException(409, "signing_unavailable", "Signed postbacks need Secrets:MasterKey configured on the server.");
        var version = await conn.QuerySingleOrDefaultAsync<int?>(
            "UPDATE advertisers SET signing_key_version = signing_key_version + 1, updated_at = now() WHERE id = @id RETURNING signing_key_version", new { id })
            ?? throw ApiException.NotFound("Advertiser");
        await network.ChangedAsync();
        return PostbackSigning.Show(signing.KeyFor(id, version));
    }

    /// A new postback token; the old one stops working at once. Shown once.
    public static async Task<string> IssueTokenAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, long id)
    {
        if (!caller.IsAdmin && caller.AdvertiserId != id) throw ApiException.NotFound("Advertiser");
        var token = ApiKeys.NewSecret("pbt_");
        var rows = await conn.ExecuteAsync("UPDATE advertisers SET postback_token_hash = @hash, updated_at = now() WHERE id = @id",
            new { id, hash = ApiKeys.Hash(token) });
        if (rows == 0) throw ApiException.NotFound("Advertiser");
        await network.ChangedAsync();
        return token;
    }
}
