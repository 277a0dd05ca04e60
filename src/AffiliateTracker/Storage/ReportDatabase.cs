using Npgsql;

namespace AffiliateTracker.Storage;

/// Where reports and the console's dashboards read: PostgreSQL's streaming replica when
/// ConnectionStrings:PostgresReadOnly is set, else the primary. Money writes, the ledger check and every
/// read that decides a write stay on the primary (the NpgsqlDataSource service).
public sealed class ReportDatabase(NpgsqlDataSource source, NpgsqlDataSource primary, bool isReplica)
{
    public NpgsqlDataSource Source { get; } = source;
    public bool IsReplica { get; } = isReplica;

    /// How far the replica is behind: WAL bytes it has not replayed yet, and the age of the last transaction it
    /// replayed while it is behind (0 when caught up). Null without a replica.
    public async Task<ReplicaLag?> LagAsync(CancellationToken ct = default)
    {
        if (!IsReplica) return null;
        await using var replica = Source.CreateCommand("""
            SELECT pg_last_wal_replay_lsn()::text, COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)::float8
            """);
        await using var reader = await replica.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct) || reader.IsDBNull(0)) throw new InvalidOperationException("ConnectionStrings:PostgresReadOnly is not a streaming replica");
        var replayed = reader.GetString(0);
        var sinceReplay = reader.GetDouble(1);
        await using var behind = primary.CreateCommand("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint");
        behind.Parameters.Add(new NpgsqlParameter { Value = replayed });
        var bytes = Math.Max(0, (long)(await behind.ExecuteScalarAsync(ct))!);
        return new ReplicaLag(bytes == 0 ? 0 : Math.Round(sinceReplay, 2), bytes);
    }

    public static void Add(IServiceCollection services, IConfiguration config)
    {
        var readOnly = config.GetConnectionString("PostgresReadOnly");
        services.AddSingleton(sp => string.IsNullOrEmpty(readOnly)
            ? new ReportDatabase(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<NpgsqlDataSource>(), false)
            : new ReportDatabase(new NpgsqlDataSourceBuilder(readOnly).Build(), sp.GetRequiredService<NpgsqlDataSource>(), true));
    }
}

public sealed record ReplicaLag(double Seconds, long Bytes);
