using AffiliateTracker.Storage;
using System.Collections.Concurrent;
using System.Net;
using Npgsql;
using NpgsqlTypes;

namespace AffiliateTracker.Clicks;

/// Writes click batches to PostgreSQL, with the rollups the reports read, in one transaction: binary COPY
/// straight into the partitioned clicks table; a re-delivered batch instead goes through a temporary
/// staging table and INSERT .. ON CONFLICT DO NOTHING.
public sealed class ClickStore(NpgsqlDataSource db)
{
    private readonly ConcurrentDictionary<DateTime, bool> _partitions = new();

    public async Task InsertAsync(IReadOnlyList<ClickRecord> clicks, bool[] unique, CancellationToken ct = default)
    {
        if (clicks.Count == 0) return;
        await using var conn = await db.OpenConnectionAsync(ct);
        await EnsurePartitionsAsync(conn, clicks, ct);
        await using var tx = await conn.BeginTransactionAsync(ct);

        // Fast path: COPY straight into clicks and add the batch to the rollups, under a savepoint. A re-delivered
        // batch breaks the unique key there; then it goes through staging and INSERT .. ON CONFLICT DO NOTHING,
        // whose rollups count only the rows that statement inserted, so nothing is counted twice.
        await tx.SaveAsync("direct_copy", ct);
        try
        {
            await CopyAsync(conn, "clicks", clicks, unique, ct);
            await using var rollups = new NpgsqlCommand(DirectRollupSql, conn, tx);
            ClickRollups.Of(clicks, unique).AddParameters(rollups);
            await rollups.ExecuteNonQueryAsync(ct);
            await tx.ReleaseAsync("direct_copy", ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await tx.RollbackAsync("direct_copy", ct);
            await using (var cmd = new NpgsqlCommand(StagingSql, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);
            await CopyAsync(conn, "click_staging", clicks, unique, ct);
            await using var merge = new NpgsqlCommand(MergeSql, conn, tx);
            await merge.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
    }

    // Fields are written synchronously into Npgsql's buffer (it flushes as it fills): this runs in the
    // flusher, never on a request, and saves an async state machine per field.
    private static async Task CopyAsync(NpgsqlConnection conn, string table, IReadOnlyList<ClickRecord> clicks, bool[] unique, CancellationToken ct)
    {
        await using var copy = await conn.BeginBinaryImportAsync($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)", ct);
        for (var i = 0; i < clicks.Count; i++)
        {
            var c = clicks[i];
            copy.StartRow();
            copy.Write(c.ClickId, NpgsqlDbType.Text);
            copy.Write(c.CreatedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
            copy.Write(c.OfferId, NpgsqlDbType.Bigint);
            copy.Write(c.PublisherId, NpgsqlDbType.Bigint);
            copy.WriteNumber(c.LinkId);
            copy.WriteText(c.Sub1); copy.WriteText(c.Sub2); copy.WriteText(c.Sub3); copy.WriteText(c.Sub4); copy.WriteText(c.Sub5);
            copy.WriteText(c.Source);
            copy.WriteInet(c.Ip);
            copy.WriteText(c.UserAgent);
            copy.WriteText(c.Referrer);
            copy.WriteText(c.Country, NpgsqlDbType.Char);
            copy.Write(unique[i], NpgsqlDbType.Boolean);
            copy.Write(c.IsBot, NpgsqlDbType.Boolean);
            copy.WriteText(c.DeepLink);
            copy.Write(c.DeepLinkRefused, NpgsqlDbType.Boolean);
            copy.WriteNumber(c.SmartLinkId);
            if (c.SmartRule is { } rule) copy.Write((short)rule, NpgsqlDbType.Smallint); else copy.WriteNull();
            var t = c.Traffic;
            copy.WriteText(t?.DeviceType); copy.WriteText(t?.Os); copy.WriteText(t?.OsVersion); copy.WriteText(t?.Browser);
            if (t?.Asn is { } asn) copy.Write(asn, NpgsqlDbType.Integer); else copy.WriteNull();
            if (t?.IsDatacenter is { } dc) copy.Write(dc, NpgsqlDbType.Boolean); else copy.WriteNull();
            copy.WriteMoney(c.Cost);
        }
        await copy.CompleteAsync(ct);
    }

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
        user_agent, referrer, country, is_unique, is_bot, deep_link, deep_link_refused, smart_link_id, smart_rule,
        device_type, os, os_version, browser, asn, is_datacenter, cost
        """;
    // Rollups count only the rows this statement inserted, so a re-delivered batch adds nothing; rows are
    // sorted so concurrent flushers lock rollup rows in the same order (no deadlocks).
    private const string MergeSql = $"""
        WITH ins AS (
            INSERT INTO clicks ({Columns}) SELECT {Columns} FROM click_staging
            ON CONFLICT (click_id, created_at) DO NOTHING
            RETURNING created_at, offer_id, publisher_id, country, sub1, sub2, sub3, sub4, sub5, smart_link_id, smart_rule,
                      device_type, os, os_version, browser, asn, is_datacenter, coalesce(cost, 0) AS cost,
                      (is_unique AND NOT is_bot) AS counts_unique
        ), {RollupsSql}
        """;
    // The direct path's rollups, summed per group in the flusher (ClickRollups): PostgreSQL adds a few rows
    // per batch instead of unnesting and grouping every click. Sorted for the same lock order as RollupsSql.
    private const string DirectRollupSql = """
        WITH by_hour AS (
            INSERT INTO click_rollup_hour (hour, offer_id, publisher_id, clicks, unique_clicks, cost)
            SELECT * FROM unnest(@h_hour, @h_offer, @h_publisher, @h_clicks, @h_unique, @h_cost) ORDER BY 1, 2, 3
            ON CONFLICT (hour, offer_id, publisher_id) DO UPDATE
                SET clicks = click_rollup_hour.clicks + excluded.clicks, unique_clicks = click_rollup_hour.unique_clicks + excluded.unique_clicks,
                    cost = click_rollup_hour.cost + excluded.cost
        ), by_device AS (
            INSERT INTO click_rollup_device (day, offer_id, publisher_id, device_type, os, os_version, browser, clicks, unique_clicks)
            SELECT * FROM unnest(@d_day, @d_offer, @d_publisher, @d_device, @d_os, @d_os_version, @d_browser, @d_clicks, @d_unique) ORDER BY 1, 2, 3, 4, 5, 6, 7
            ON CONFLICT (day, offer_id, publisher_id, device_type, os, os_version, browser) DO UPDATE
                SET clicks = click_rollup_device.clicks + excluded.clicks, unique_clicks = click_rollup_device.unique_clicks + excluded.unique_clicks
        ), by_network AS (
            INSERT INTO click_rollup_network (day, offer_id, publisher_id, asn, is_datacenter, clicks, unique_clicks)
            SELECT * FROM unnest(@n_day, @n_offer, @n_publisher, @n_asn, @n_datacenter, @n_clicks, @n_unique) ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (day, offer_id, publisher_id, asn, is_datacenter) DO UPDATE
                SET clicks = click_rollup_network.clicks + excluded.clicks, unique_clicks = click_rollup_network.unique_clicks + excluded.unique_clicks
        ), by_country AS (
            INSERT INTO click_rollup_country (day, offer_id, publisher_id, country, clicks, unique_clicks)
            SELECT * FROM unnest(@c_day, @c_offer, @c_publisher, @c_country, @c_clicks, @c_unique) ORDER BY 1, 2, 3, 4
            ON CONFLICT (day, offer_id, publisher_id, country) DO UPDATE
                SET clicks = click_rollup_country.clicks + excluded.clicks, unique_clicks = click_rollup_country.unique_clicks + excluded.unique_clicks
        ), by_smart AS (
            INSERT INTO click_rollup_smart (day, offer_id, publisher_id, smart_link_id, smart_rule, clicks, unique_clicks)
            SELECT * FROM unnest(@m_day, @m_offer, @m_publisher, @m_link, @m_rule, @m_clicks, @m_unique) ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (day, offer_id, publisher_id, smart_link_id, smart_rule) DO UPDATE
                SET clicks = click_rollup_smart.clicks + excluded.clicks, unique_clicks = click_rollup_smart.unique_clicks + excluded.unique_clicks
        )
        INSERT INTO click_rollup_subs (day, offer_id, publisher_id, sub1, sub2, sub3, sub4, sub5, clicks, unique_clicks, cost)
        SELECT * FROM unnest(@s_day, @s_offer, @s_publisher, @s_sub1, @s_sub2, @s_sub3, @s_sub4, @s_sub5, @s_clicks, @s_unique, @s_cost) ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (day, offer_id, publisher_id, sub1, sub2, sub3, sub4, sub5) DO UPDATE
            SET clicks = click_rollup_subs.clicks + excluded.clicks, unique_clicks = click_rollup_subs.unique_clicks + excluded.unique_clicks,
                cost = click_rollup_subs.cost + excluded.cost
        """;
    // The re-delivery path's rollups count the rows of `ins` (only those its INSERT added); rows are sorted so
    // concurrent flushers lock rollup rows in the same order (no deadlocks).
    private const string RollupsSql = """
        by_hour AS (
            INSERT INTO click_rollup_hour (hour, offer_id, publisher_id, clicks, unique_clicks, cost)
            SELECT date_trunc('hour', created_at, 'UTC'), offer_id, publisher_id, count(*), count(*) FILTER (WHERE counts_unique), sum(cost)
            FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (hour, offer_id, publisher_id) DO UPDATE
                SET clicks = click_rollup_hour.clicks + excluded.clicks, unique_clicks = click_rollup_hour.unique_clicks + excluded.unique_clicks,
                    cost = click_rollup_hour.cost + excluded.cost
        ), by_device AS (
            INSERT INTO click_rollup_device (day, offer_id, publisher_id, device_type, os, os_version, browser, clicks, unique_clicks)
            SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(device_type, ''), coalesce(os, ''), coalesce(os_version, ''),
                   coalesce(browser, ''), count(*), count(*) FILTER (WHERE counts_unique)
            FROM ins GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
            ON CONFLICT (day, offer_id, publisher_id, device_type, os, os_version, browser) DO UPDATE
                SET clicks = click_rollup_device.clicks + excluded.clicks, unique_clicks = click_rollup_device.unique_clicks + excluded.unique_clicks
        ), by_network AS (
            INSERT INTO click_rollup_network (day, offer_id, publisher_id, asn, is_datacenter, clicks, unique_clicks)
            SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(asn, 0), coalesce(is_datacenter, false),
                   count(*), count(*) FILTER (WHERE counts_unique)
            FROM ins GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (day, offer_id, publisher_id, asn, is_datacenter) DO UPDATE
                SET clicks = click_rollup_network.clicks + excluded.clicks, unique_clicks = click_rollup_network.unique_clicks + excluded.unique_clicks
        ), by_country AS (
            INSERT INTO click_rollup_country (day, offer_id, publisher_id, country, clicks, unique_clicks)
            SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(country, ''), count(*), count(*) FILTER (WHERE counts_unique)
            FROM ins GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            ON CONFLICT (day, offer_id, publisher_id, country) DO UPDATE
                SET clicks = click_rollup_country.clicks + excluded.clicks, unique_clicks = click_rollup_country.unique_clicks + excluded.unique_clicks
        ), by_smart AS (
            INSERT INTO click_rollup_smart (day, offer_id, publisher_id, smart_link_id, smart_rule, clicks, unique_clicks)
            SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, smart_link_id, smart_rule, count(*), count(*) FILTER (WHERE counts_unique)
            FROM ins WHERE smart_link_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (day, offer_id, publisher_id, smart_link_id, smart_rule) DO UPDATE
                SET clicks = click_rollup_smart.clicks + excluded.clicks, unique_clicks = click_rollup_smart.unique_clicks + excluded.unique_clicks
        )
        INSERT INTO click_rollup_subs (day, offer_id, publisher_id, sub1, sub2, sub3, sub4, sub5, clicks, unique_clicks, cost)
        SELECT (created_at AT TIME ZONE 'UTC')::date, offer_id, publisher_id, coalesce(sub1, ''), coalesce(sub2, ''), coalesce(sub3, ''),
               coalesce(sub4, ''), coalesce(sub5, ''), count(*), count(*) FILTER (WHERE counts_unique), sum(cost)
        FROM ins GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (day, offer_id, publisher_id, sub1, sub2, sub3, sub4, sub5) DO UPDATE
            SET clicks = click_rollup_subs.clicks + excluded.clicks, unique_clicks = click_rollup_subs.unique_clicks + excluded.unique_clicks,
                cost = click_rollup_subs.cost + excluded.cost
        """;
}
