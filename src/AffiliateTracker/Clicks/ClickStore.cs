using System.Collections.Concurrent;
using System.Net;
using Npgsql;
using NpgsqlTypes;

namespace AffiliateTracker.Clicks;

/// Writes click batches to PostgreSQL: binary COPY into a temporary staging table, then one
/// INSERT .. ON CONFLICT DO NOTHING into the partitioned clicks table, in one transaction.
public sealed class ClickStore(NpgsqlDataSource db)
{
    private readonly ConcurrentDictionary<DateTime, bool> _partitions = new();

    public async Task InsertAsync(IReadOnlyList<ClickRecord> clicks, bool[] unique, CancellationToken ct = default)
    {
        if (clicks.Count == 0) return;
        await using var conn = await db.OpenConnectionAsync(ct);
        await EnsurePartitionsAsync(conn, clicks, ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var cmd = new NpgsqlCommand(StagingSql, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);

        await using (var copy = await conn.BeginBinaryImportAsync(CopySql, ct))
        {
            for (var i = 0; i < clicks.Count; i++)
            {
                var c = clicks[i];
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(c.ClickId, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(c.CreatedAt.UtcDateTime, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(c.OfferId, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(c.PublisherId, NpgsqlDbType.Bigint, ct);
                await WriteNullable(copy, c.LinkId, NpgsqlDbType.Bigint, ct);
                await WriteNullable(copy, c.Sub1, NpgsqlDbType.Text, ct);
                await WriteNullable(copy, c.Sub2, NpgsqlDbType.Text, ct);
                await WriteNullable(copy, c.Sub3, NpgsqlDbType.Text, ct);
                await WriteNullable(copy, c.Sub4, NpgsqlDbType.Text, ct);
                await WriteNullable(copy, c.Sub5, NpgsqlDbType.Text, ct);
                await WriteNullable(copy, c.Source, NpgsqlDbType.Text, ct);
                await WriteNullable(copy, c.Ip is not null && IPAddress.TryParse(c.Ip, out var ip) ? ip : null, NpgsqlDbType.Inet, ct);
                await WriteNullable(copy, c.UserAgent, NpgsqlDbType.Text, ct);
                await WriteNullable(copy, c.Referrer, NpgsqlDbType.Text, ct);
                await WriteNullable(copy, c.Country, NpgsqlDbType.Char, ct);
                await copy.WriteAsync(unique[i], NpgsqlDbType.Boolean, ct);
                await copy.WriteAsync(c.IsBot, NpgsqlDbType.Boolean, ct);
            }
            await copy.CompleteAsync(ct);
        }
        await using (var cmd = new NpgsqlCommand(MergeSql, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }

    private static Task WriteNullable<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken ct) =>
        value is null ? copy.WriteNullAsync(ct) : copy.WriteAsync(value, type, ct);

    private static Task WriteNullable(NpgsqlBinaryImporter copy, long? value, NpgsqlDbType type, CancellationToken ct) =>
        value is { } v ? copy.WriteAsync(v, type, ct) : copy.WriteNullAsync(ct);

    /// Monthly partitions are created on first need, so clicks never pile up in the default partition.
    private async Task EnsurePartitionsAsync(NpgsqlConnection conn, IReadOnlyList<ClickRecord> clicks, CancellationToken ct)
    {
        foreach (var month in clicks.Select(c => new DateTime(c.CreatedAt.Year, c.CreatedAt.Month, 1, 0, 0, 0, DateTimeKind.Utc)).Distinct())
        {
            if (_partitions.ContainsKey(month)) continue;
            await EnsurePartitionAsync(conn, month, ct);
            _partitions[month] = true;
        }
    }

    public static async Task EnsurePartitionAsync(NpgsqlConnection conn, DateTime monthUtc, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT ensure_click_partition(@at)", conn);
        cmd.Parameters.AddWithValue("at", monthUtc);
        try
        {
            await cmd.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.CheckViolation)
        {
            // Another instance created it at the same moment, or the default partition already holds rows of
            // that month (then they keep going there; clicks are still written).
        }
    }

    private const string StagingSql = """
        CREATE TEMP TABLE click_staging (LIKE clicks INCLUDING DEFAULTS) ON COMMIT DROP
        """;
    private const string Columns = """
        click_id, created_at, offer_id, publisher_id, link_id, sub1, sub2, sub3, sub4, sub5, source, ip,
        user_agent, referrer, country, is_unique, is_bot
        """;
    private const string CopySql = $"COPY click_staging ({Columns}) FROM STDIN (FORMAT BINARY)";
    // Rollups count only the rows this statement inserted, so a re-delivered batch adds nothing; rows are
    // sorted so concurrent flushers lock rollup rows in the same order (no deadlocks).
    private const string MergeSql = $"""
        WITH ins AS (
            INSERT INTO clicks ({Columns}) SELECT {Columns} FROM click_staging
            ON CONFLICT (click_id, created_at) DO NOTHING
            RETURNING created_at, offer_id, publisher_id, country, sub1, sub2, sub3, sub4, sub5, (is_unique AND NOT is_bot) AS counts_unique
        ), by_hour AS (
            INSERT INTO click_rollup_hour (hour, offer_id, publisher_id, clicks, unique_clicks)
            SELECT date_trunc('hour', created_at), offer_id, publisher_id, count(*), count(*) FILTER (WHERE counts_unique)
            FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (hour, offer_id, publisher_id) DO UPDATE
                SET clicks = click_rollup_hour.clicks + excluded.clicks, unique_clicks = click_rollup_hour.unique_clicks + excluded.unique_clicks
        ), by_country AS (
            INSERT INTO click_rollup_country (day, offer_id, publisher_id, country, clicks, unique_clicks)
            SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(country, ''), count(*), count(*) FILTER (WHERE counts_unique)
            FROM ins GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            ON CONFLICT (day, offer_id, publisher_id, country) DO UPDATE
                SET clicks = click_rollup_country.clicks + excluded.clicks, unique_clicks = click_rollup_country.unique_clicks + excluded.unique_clicks
        )
        INSERT INTO click_rollup_subs (day, offer_id, publisher_id, sub1, sub2, sub3, sub4, sub5, clicks, unique_clicks)
        SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(sub1, ''), coalesce(sub2, ''), coalesce(sub3, ''),
               coalesce(sub4, ''), coalesce(sub5, ''), count(*), count(*) FILTER (WHERE counts_unique)
        FROM ins GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (day, offer_id, publisher_id, sub1, sub2, sub3, sub4, sub5) DO UPDATE
            SET clicks = click_rollup_subs.clicks + excluded.clicks, unique_clicks = click_rollup_subs.unique_clicks + excluded.unique_clicks
        """;
}
