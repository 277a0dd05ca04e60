using System.Reflection;
using Npgsql;

namespace AffiliateTracker.Storage;

/// Applies the embedded SQL files in Storage/Migrations in name order, each once, each in its own
/// transaction, recorded in schema_migrations. An advisory lock lets several instances start at once.
public sealed class MigrationRunner(NpgsqlDataSource db, ILogger<MigrationRunner> log)
{
    private const long LockId = 0x41_66_66_54_72_6B; // "AffTrk"

    public async Task ApplyAsync(CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using (var cmd = new NpgsqlCommand("SELECT pg_advisory_lock(@id)", conn))
        {
            cmd.Parameters.AddWithValue("id", LockId);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        try
        {
            await Exec(conn, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, ct);
            var applied = new HashSet<string>();
            await using (var cmd = new NpgsqlCommand("SELECT version FROM schema_migrations", conn))
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct)) applied.Add(reader.GetString(0));

            foreach (var (version, sql) in EmbeddedMigrations())
            {
                if (applied.Contains(version)) continue;
                await using var tx = await conn.BeginTransactionAsync(ct);
                await using (var cmd = new NpgsqlCommand(sql, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);
                await using (var cmd = new NpgsqlCommand("INSERT INTO schema_migrations (version) VALUES (@v)", conn, tx))
                {
                    cmd.Parameters.AddWithValue("v", version);
                    await cmd.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
                log.LogInformation("Applied migration {Migration}", version);
            }
        }
        finally
        {
            await Exec(conn, $"SELECT pg_advisory_unlock({LockId})", CancellationToken.None);
        }
    }

    internal static IEnumerable<(string Version, string Sql)> EmbeddedMigrations()
    {
        var asm = Assembly.GetExecutingAssembly();
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith("Migrations.")).Order(StringComparer.Ordinal))
        {
            using var stream = asm.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (name["Migrations.".Length..^".sql".Length], reader.ReadToEnd());
        }
    }

    private static async Task Exec(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
