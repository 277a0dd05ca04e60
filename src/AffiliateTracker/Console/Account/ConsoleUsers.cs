using System.Net.Mail;
using System.Security.Claims;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Npgsql;

namespace AffiliateTracker.Console.Account;

/// A person who signs in to the console: one role and owner, like an API key.
public sealed class ConsoleUser
{
    public long Id { get; init; }
    public string Email { get; init; } = "";
    public string PasswordHash { get; init; } = "";
    public string Role { get; init; } = "";
    public long? AdvertiserId { get; init; }
    public long? PublisherId { get; init; }
    public string Language { get; init; } = "en";
    public string Status { get; init; } = "";
    public string? TotpSecret { get; init; }
    public bool TotpEnabled { get; init; }
    public long? TotpLastStep { get; init; }
    public Guid SecurityStamp { get; init; }
    /// The advertiser's or publisher's own status ("active" for admins): a suspended owner's people cannot sign in.
    public string OwnerStatus { get; init; } = "active";
    public string OwnerName { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime? LastSignInAt { get; init; }

    public Caller Caller => new(Role, AdvertiserId, PublisherId);
}

/// Users in PostgreSQL: passwords hashed with ASP.NET Core's PasswordHasher (PBKDF2), a security stamp that
/// every session carries and that changes whenever the password, second factor or status does.
public sealed class ConsoleUsers(NpgsqlDataSource db)
{
    public const string StampClaim = "stamp";
    private static readonly PasswordHasher<ConsoleUser> Hasher = new();

    private const string Select = """
        SELECT u.*, coalesce(a.status, p.status, 'active') AS owner_status, coalesce(a.name, p.name, '') AS owner_name
        FROM users u LEFT JOIN advertisers a ON a.id = u.advertiser_id LEFT JOIN publishers p ON p.id = u.publisher_id
        """;

    public async Task<ConsoleUser?> FindAsync(long id)
    {
        await using var conn = await db.OpenConnectionAsync();
        return await conn.QuerySingleOrDefaultAsync<ConsoleUser>($"{Select} WHERE u.id = @id", new { id });
    }

    public async Task<ConsoleUser?> FindByEmailAsync(string email)
    {
        await using var conn = await db.OpenConnectionAsync();
        return await conn.QuerySingleOrDefaultAsync<ConsoleUser>($"{Select} WHERE u.email = @email", new { email = NormalizeEmail(email) });
    }

    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    /// A checked email address, or an ApiException naming the field.
    public static string ValidEmail(string? email, string field = "email")
    {
        var e = NormalizeEmail(email ?? "");
        if (e.Length is < 3 or > 254 || e.Any(char.IsControl) || !MailAddress.TryCreate(e, out var parsed) || parsed.Address != e || !e.Contains('.'))
            throw ApiException.Invalid(field, "must be an email address");
        return e;
    }

    /// Length is what makes a password strong; 10 characters at least, and not the email address itself.
    public static string ValidPassword(string? password, string email, string field = "password")
    {
        if (string.IsNullOrEmpty(password) || password.Length < 10) throw ApiException.Invalid(field, "must be at least 10 characters");
        if (password.Length > 200) throw ApiException.Invalid(field, "must be at most 200 characters");
        if (string.Equals(password, email, StringComparison.OrdinalIgnoreCase)) throw ApiException.Invalid(field, "must not be the email address");
        return password;
    }

    public static bool PasswordMatches(ConsoleUser user, string password) =>
        Hasher.VerifyHashedPassword(user, user.PasswordHash, password) != PasswordVerificationResult.Failed;

    public static string HashPassword(string password) => Hasher.HashPassword(null!, password);

    public static async Task<long> CreateAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string email, string password, string role,
        long? advertiserId, long? publisherId, string language = "en")
    {
        if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM users WHERE email = @email", new { email }, tx) > 0)
            throw new ApiException(409, "conflict", "A user with this email address already exists.", "email");
        return await conn.ExecuteScalarAsync<long>("""
            INSERT INTO users (email, password_hash, role, advertiser_id, publisher_id, language)
            VALUES (@email, @hash, @role, @advertiserId, @publisherId, @language) RETURNING id
            """, new { email, hash = HashPassword(password), role, advertiserId, publisherId, language }, tx);
    }

    public async Task SetPasswordAsync(long id, string password)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("UPDATE users SET password_hash = @hash, security_stamp = gen_random_uuid() WHERE id = @id",
            new { id, hash = HashPassword(password) });
    }

    public async Task SetLanguageAsync(long id, string language)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("UPDATE users SET language = @language WHERE id = @id", new { id, language });
    }

    public async Task SignedInAsync(long id)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("UPDATE users SET last_sign_in_at = now() WHERE id = @id", new { id });
    }

    /// Who the session says the user is; the stamp lets a later change end the session.
    public static ClaimsPrincipal Principal(ConsoleUser user, string scheme)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, user.Id.ToString()), new(ClaimTypes.Name, user.Email),
            new(ClaimTypes.Role, user.Role), new(StampClaim, user.SecurityStamp.ToString()),
        };
        if (user.AdvertiserId is { } a) claims.Add(new("advertiser_id", a.ToString()));
        if (user.PublisherId is { } p) claims.Add(new("publisher_id", p.ToString()));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    public static long? IdOf(ClaimsPrincipal principal) =>
        long.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null;

    /// A session is good while the user and their owner are active and the stamp is the one it was issued with.
    public static bool SessionValid(ConsoleUser? user, ClaimsPrincipal principal) =>
        user is { Status: "active", OwnerStatus: "active" } && principal.FindFirstValue(StampClaim) == user.SecurityStamp.ToString();
}
