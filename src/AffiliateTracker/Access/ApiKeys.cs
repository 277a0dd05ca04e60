using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using AffiliateTracker.Http;
using Dapper;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AffiliateTracker.Access;

/// API keys: random, shown once, stored as SHA-256. A presented key is hashed and looked up by its hash,
/// so the comparison never touches the secret byte by byte; keys are never logged.
public static class ApiKeys
{
    public const string Scheme = "ApiKey";

    public static string NewSecret(string prefix) =>
        prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_').TrimEnd('=');

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// Issues a key for a role; returns the secret, which is not stored anywhere.
    public static async Task<(long Id, string Secret)> IssueAsync(NpgsqlConnection conn, string role, long? advertiserId, long? publisherId, string name)
    {
        var secret = NewSecret("atk_");
        var id = await conn.ExecuteScalarAsync<long>("""
            INSERT INTO api_keys (key_hash, role, advertiser_id, publisher_id, name)
            VALUES (@hash, @role, @advertiserId, @publisherId, @name) RETURNING id
            """, new { hash = Hash(secret), role, advertiserId, publisherId, name });
        return (id, secret);
    }
}

public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, NpgsqlDataSource db)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Only the management API takes keys: the redirect, postback and pixel never wait on PostgreSQL for a
        // key that a visitor happens to send.
        if (!Request.Path.StartsWithSegments("/api")) return AuthenticateResult.NoResult();
        var secret = Presented(Request);
        if (secret is null) return AuthenticateResult.NoResult();
        if (secret.Length > 200) return AuthenticateResult.Fail("Malformed API key");

        await using var conn = await db.OpenConnectionAsync(Context.RequestAborted);
        var key = await conn.QuerySingleOrDefaultAsync<KeyRow>("""
            SELECT k.id, k.role, k.advertiser_id, k.publisher_id FROM api_keys k
            LEFT JOIN advertisers a ON a.id = k.advertiser_id
            LEFT JOIN publishers p ON p.id = k.publisher_id
            WHERE k.key_hash = @hash AND k.revoked_at IS NULL
              AND coalesce(a.status, 'active') = 'active' AND coalesce(p.status, 'active') = 'active'
            """, new { hash = ApiKeys.Hash(secret) });
        if (key is null) return AuthenticateResult.Fail("Unknown or revoked API key");

        var claims = new List<Claim> { new(ClaimTypes.Role, key.Role), new("key_id", key.Id.ToString()) };
        if (key.AdvertiserId is { } a) claims.Add(new("advertiser_id", a.ToString()));
        if (key.PublisherId is { } p) claims.Add(new("publisher_id", p.ToString()));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name)), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        var presented = Presented(Request) is not null;
        return Response.WriteAsJsonAsync(new ErrorBody("unauthorized", presented
            ? "The API key is unknown or revoked."
            : "An API key is required: send it as 'Authorization: Bearer <key>' or 'X-Api-Key'."));
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 403;
        return Response.WriteAsJsonAsync(new ErrorBody("forbidden", "This key may not do that."));
    }

    private static string? Presented(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header[7..].Trim();
        var apiKey = request.Headers["X-Api-Key"].ToString();
        return apiKey.Length > 0 ? apiKey.Trim() : null;
    }

    private sealed class KeyRow
    {
        public long Id { get; init; }
        public string Role { get; init; } = "";
        public long? AdvertiserId { get; init; }
        public long? PublisherId { get; init; }
    }
}
