using Npgsql;

namespace AffiliateTracker.Storage;

/// Where reports and the console's dashboards read: PostgreSQL's streaming replica when
/// ConnectionStrings:PostgresReadOnly is set, else the primary. Money writes, the ledger check and every
/// read that decides a write stay on the primary (the NpgsqlDataSource service).
public sealed class ReportDatabase(NpgsqlDataSource source, NpgsqlDataSource primary, bool isReplica, ILogger<ReportDatabase> log)
{
    public NpgsqlDataSource Source { get; } = source;
    public bool IsReplica { get; } = isReplica;

    /// A connection for a report: the replica's, or the primary's while the replica cannot be reached (a replica
    /// down degrades reports to the primary's load; it does not fail them).
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken ct = default)
    {
        if (!IsReplica) return await primary.OpenConnectionAsync(ct);
        try { return await Source.OpenConnectionAsync(ct); }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
        {
            log.LogWarning("The reporting replica cannot be reached ({Error}); reading from the primary", e.GetType().Name);
            return await primary.OpenConnectionAsync(ct);
        }
    }

    /// How far the replica is behind: WAL bytes it has not replayed yet, and the age of the last transaction it
    /// replayed while it is behind (0 when caught up). Null without a replica.
    public async Task<ReplicaLag?> LagAsync(CancellationToken ct = default)
    {
        if (!IsReplica) return null;
        // The primary's position first, then the replica's: read the other way round, WAL written between the two
        // reads would count as lag.
        await using var current = primary.CreateCommand("SELECT pg_current_wal_lsn()::text");
        var primaryLsn = (string)(await current.ExecuteScalarAsync(ct))!;
        // Seconds only while the replica has received WAL it has not replayed: on a quiet network the last replayed
        // transaction is old, and its age is not lag.
        await using var replica = Source.CreateCommand("""
            SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::bigint,
                   CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                        ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END::float8
            """);
        replica.Parameters.Add(new NpgsqlParameter { Value = primaryLsn });
        await using var reader = await replica.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct) || reader.IsDBNull(0)) throw new InvalidOperationException("ConnectionStrings:PostgresReadOnly is not a streaming replica");
        var bytes = Math.Max(0, reader.GetInt64(0));
        return new ReplicaLag(Math.Round(reader.GetDouble(1), 2), bytes);
    }

    public static void Add(IServiceCollection services, IConfiguration config)
    {
        var readOnly = config.GetConnectionString("PostgresReadOnly");
        services.AddSingleton(sp =>
        {
            var primary = sp.GetRequiredService<NpgsqlDataSource>();
            var log = sp.GetRequiredService<ILogger<ReportDatabase>>();
            return string.IsNullOrEmpty(readOnly)
                ? new ReportDatabase(primary, primary, false, log)
                : new ReportDatabase(new NpgsqlDataSourceBuilder(readOnly).Build(), primary, true, log);
        });
    }
}

public sealed record ReplicaLag(double Seconds, long Bytes);
