using System.Net;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Console.Account;

/// Slows password guessing: after too many failed sign-ins for one account, or from one address, within the
/// window, sign-in is refused until the oldest failure leaves the window. Counted in PostgreSQL so every
/// instance agrees, and so that sign-in never touches the Redis the redirect uses.
public sealed class SignInThrottle(NpgsqlDataSource db, TimeProvider time, IConfiguration config)
{
    public TimeSpan Window { get; } = TimeSpan.FromMinutes(config.GetValue("Console:SignInWindowMinutes", 15));
    public int PerAccount { get; } = config.GetValue("Console:SignInFailuresPerAccount", 5);
    public int PerAddress { get; } = config.GetValue("Console:SignInFailuresPerAddress", 20);

    /// How long until this account and address may try again; null = they may now.
    public async Task<TimeSpan?> BlockedForAsync(string email, IPAddress? ip)
    {
        var now = time.GetUtcNow();
        await using var conn = await db.OpenConnectionAsync();
        var rows = await conn.QueryAsync<(string Kind, long Count, DateTime? Oldest)>("""
            SELECT 'account', count(*), min(at) FROM (SELECT at FROM sign_in_failures WHERE email = @email AND at > @since ORDER BY at DESC LIMIT @perAccount) a
            UNION ALL
            SELECT 'address', count(*), min(at) FROM (SELECT at FROM sign_in_failures WHERE ip = @ip::inet AND at > @since ORDER BY at DESC LIMIT @perAddress) b
            """, new { email, ip = ip?.ToString(), since = now - Window, perAccount = PerAccount, perAddress = PerAddress });
        TimeSpan? wait = null;
        foreach (var (kind, count, oldest) in rows)
        {
            var limit = kind == "account" ? PerAccount : PerAddress;
            if (limit <= 0 || count < limit || oldest is null) continue;
            var until = new DateTimeOffset(DateTime.SpecifyKind(oldest.Value, DateTimeKind.Utc)) + Window - now;
            if (until > TimeSpan.Zero && (wait is null || until > wait)) wait = until;
        }
        return wait;
    }

    public async Task FailedAsync(string email, IPAddress? ip)
    {
        var now = time.GetUtcNow();
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("""
            INSERT INTO sign_in_failures (at, email, ip) VALUES (@now, @email, @ip::inet);
            DELETE FROM sign_in_failures WHERE at < @old;
            """, new { now, email, ip = ip?.ToString(), old = now - TimeSpan.FromDays(1) });
    }

    /// A good sign-in clears the account's failures (not the address's: one good account must not unlock guessing at others).
    public async Task SucceededAsync(string email)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("DELETE FROM sign_in_failures WHERE email = @email", new { email });
    }
}
