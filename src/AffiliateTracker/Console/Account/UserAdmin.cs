using System.Security.Cryptography;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Console.Account;

public sealed record InvitationCreate(string? Email, string? Role, long? AdvertiserId, long? PublisherId);
public sealed record UserStatusInput(string? Status);

public sealed class UserView
{
    public long Id { get; init; }
    public string Email { get; init; } = "";
    public string Role { get; init; } = "";
    public long? AdvertiserId { get; init; }
    public long? PublisherId { get; init; }
    public string OwnerName { get; init; } = "";
    public string Status { get; init; } = "";
    public bool TotpEnabled { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? LastSignInAt { get; init; }
}

public sealed class InvitationView
{
    public long Id { get; init; }
    public string Email { get; init; } = "";
    public string Role { get; init; } = "";
    public DateTime ExpiresAt { get; init; }
    public DateTime? AcceptedAt { get; init; }
    /// The one-time link: only in the answer that created it.
    public string? Link { get; set; }
}

/// Admins manage people: invite them (a one-time link, shown once, since no mail server is assumed), disable and
/// re-enable them (ending their sessions at once), reset a lost second factor. API and console share these.
public static class UserAdmin
{
    public static readonly TimeSpan InvitationLifetime = TimeSpan.FromDays(7);

    public static void MapUserApi(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/users").WithTags("Users");
        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller);
        });
        g.MapPost("/{id:long}/status", async (long id, UserStatusInput? body, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await SetStatusAsync(conn, caller, id, Validate.Body(body).Status);
        });
        api.MapPost("/invitations", async (InvitationCreate? body, Caller caller, NpgsqlDataSource db, PublicBaseUrl publicUrl) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var invitation = await InviteAsync(conn, caller, Validate.Body(body), publicUrl);
            return Results.Created($"/api/v1/invitations/{invitation.Id}", invitation);
        }).WithTags("Users");
    }

    public static async Task<List<UserView>> ListAsync(NpgsqlConnection conn, Caller caller)
    {
        caller.RequireAdmin();
        return (await conn.QueryAsync<UserView>("""
            SELECT u.id, u.email, u.role, u.advertiser_id, u.publisher_id, coalesce(a.name, p.name, '') AS owner_name, u.status, u.totp_enabled,
                   u.created_at, u.last_sign_in_at
            FROM users u LEFT JOIN advertisers a ON a.id = u.advertiser_id LEFT JOIN publishers p ON p.id = u.publisher_id
            ORDER BY u.id
            """)).ToList();
    }

    /// active or disabled; either way the user's sessions end (a new security stamp).
    public static async Task<UserView> SetStatusAsync(NpgsqlConnection conn, Caller caller, long id, string? status)
    {
        caller.RequireAdmin();
        status = Validate.OneOf(status, "status", "active", "disabled");
        var rows = await conn.ExecuteAsync("UPDATE users SET status = @status, security_stamp = gen_random_uuid() WHERE id = @id", new { id, status });
        if (rows == 0) throw ApiException.NotFound("User");
        return (await ListAsync(conn, caller)).Single(u => u.Id == id);
    }

    /// A lost authenticator: the user signs in with the password alone and may set up a new one.
    public static async Task ResetTwoFactorAsync(NpgsqlConnection conn, Caller caller, long id)
    {
        caller.RequireAdmin();
        var rows = await conn.ExecuteAsync(
            "UPDATE users SET totp_enabled = false, totp_secret = NULL, totp_last_step = NULL, security_stamp = gen_random_uuid() WHERE id = @id", new { id });
        if (rows == 0) throw ApiException.NotFound("User");
    }

    public static async Task<InvitationView> InviteAsync(NpgsqlConnection conn, Caller caller, InvitationCreate body, PublicBaseUrl publicUrl)
    {
        caller.RequireAdmin();
        var email = ConsoleUsers.ValidEmail(body.Email);
        var role = Validate.OneOf(body.Role, "role", Roles.All);
        long? advertiserId = role == Roles.Advertiser ? Validate.Id(body.AdvertiserId, "advertiser_id") : null;
        long? publisherId = role == Roles.Publisher ? Validate.Id(body.PublisherId, "publisher_id") : null;
        if (advertiserId is { } a && await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM advertisers WHERE id = @a", new { a }) == 0)
            throw ApiException.Invalid("advertiser_id", "does not name an existing advertiser");
        if (publisherId is { } p && await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM publishers WHERE id = @p", new { p }) == 0)
            throw ApiException.Invalid("publisher_id", "does not name an existing publisher");
        if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM users WHERE email = @email", new { email }) > 0)
            throw new ApiException(409, "conflict", "A user with this email address already exists.", "email");
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        var view = await conn.QuerySingleAsync<InvitationView>("""
            INSERT INTO invitations (token_hash, email, role, advertiser_id, publisher_id, created_by, expires_at)
            VALUES (@hash, @email, @role, @advertiserId, @publisherId, @actor, now() + @lifetime) RETURNING id, email, role, expires_at, accepted_at
            """, new { hash = ApiKeys.Hash(token), email, role, advertiserId, publisherId, actor = caller.Actor, lifetime = InvitationLifetime });
        view.Link = $"{publicUrl.Value}/account/invitation/{token}";
        return view;
    }

    public sealed record OpenInvitation(long Id, string Email, string Role, long? AdvertiserId, long? PublisherId);

    public static async Task<OpenInvitation?> FindOpenAsync(NpgsqlConnection conn, string token) =>
        token.Length is < 10 or > 100 ? null : await conn.QuerySingleOrDefaultAsync<OpenInvitation>("""
            SELECT id, email, role, advertiser_id, publisher_id FROM invitations
            WHERE token_hash = @hash AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
            """, new { hash = ApiKeys.Hash(token) });

    /// Turns an open invitation into a user with the chosen password; the link cannot be used again.
    public static async Task<long> AcceptAsync(NpgsqlConnection conn, string token, string? password, string language)
    {
        await using var tx = await conn.BeginTransactionAsync();
        var invitation = await conn.QuerySingleOrDefaultAsync<OpenInvitation>("""
            UPDATE invitations SET accepted_at = now()
            WHERE token_hash = @hash AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
            RETURNING id, email, role, advertiser_id, publisher_id
            """, new { hash = ApiKeys.Hash(token) }, tx) ?? throw ApiException.NotFound("Invitation");
        ConsoleUsers.ValidPassword(password, invitation.Email);
        var id = await ConsoleUsers.CreateAsync(conn, tx, invitation.Email, password!, invitation.Role, invitation.AdvertiserId, invitation.PublisherId, language);
        await tx.CommitAsync();
        return id;
    }
}
