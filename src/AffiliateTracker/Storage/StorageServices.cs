using AffiliateTracker.Observability;
using Npgsql;
using StackExchange.Redis;

namespace AffiliateTracker.Storage;

/// Redis and PostgreSQL connections, the stream consumer every flusher shares, and the migrations.
public static class StorageServices
{
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration config)
    {
        var postgres = config.GetConnectionString("Postgres")
            ?? throw new InvalidOperationException("ConnectionStrings:Postgres is not set (see README: deploy/services.sh env)");
        var redis = config.GetConnectionString("Redis")
            ?? throw new InvalidOperationException("ConnectionStrings:Redis is not set (see README: deploy/services.sh env)");
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(postgres).Build());
        ReportDatabase.Add(services, config);
        // Columns are snake_case, C# properties PascalCase.
        Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
        // abortConnect=false: the server starts, and redirects keep working, while Redis is unreachable.
        // RESP3, chosen rather than left to the library's default: every reply is read through typed commands or
        // our Lua scripts' arrays (the same in both protocols), the streams need Redis 6.2 or later anyway, and
        // RESP3 carries pub/sub on the same socket, so each multiplexer holds one connection instead of two.
        var protocol = redis.Contains("protocol=", StringComparison.OrdinalIgnoreCase) ? "" : ",protocol=resp3";
        ConnectionMultiplexer Connect(string name) => ConnectionMultiplexer.Connect($"{redis},abortConnect=false,name={name}{protocol}");
        // Requests (redirects, postbacks) and the flushers talk to Redis over separate connections: a
        // flusher's stream read brings back thousands of clicks at once, and on a shared socket every
        // redirect waiting behind that reply would wait for all of it (benchmarks/README.md).
        services.AddSingleton(_ => Connect("requests"));
        services.AddKeyedSingleton(RedisKeys.FlusherConnection, (_, _) => Connect("flushers"));
        var redisOptions = config.GetSection("Redis");
        services.Configure<RedisOptions>(redisOptions);
        services.AddSingleton<ReplicaAcks>();
        // Clicks and postbacks are recorded on connections of their own when they wait for replicas: WAIT blocks
        // the connection it is sent on until the replicas answer, and lookups must not queue behind it.
        services.AddSingleton(sp => redisOptions.GetValue<int>(nameof(RedisOptions.ReplicaAcks)) > 0
            ? new RecordingConnections(Enumerable.Range(0, Math.Max(1, redisOptions.GetValue(nameof(RedisOptions.RecordingConnections), 4)))
                .Select(i => Connect($"recording-{i}")).ToArray())
            : new RecordingConnections([sp.GetRequiredService<ConnectionMultiplexer>()]));
        services.AddSingleton(new RedisKeys(redisOptions[nameof(RedisOptions.KeyPrefix)] ?? "at:", config.GetValue("Conversions:StreamShards", 1), config.GetValue("Clicks:StreamShards", 1)));
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<FlushConsumer>();
        services.AddSingleton(sp => new FlushLane(config.GetValue("Flushers:Nice", 10), sp.GetRequiredService<ILogger<FlushLane>>()));
        // Test-only fault injection (tests/fault); off unless Faults:CrashAfterFlushCommit is set.
        services.Configure<FaultOptions>(config.GetSection("Faults"));
        services.AddSingleton<AffiliateTracker.Observability.TrackerMetrics>();
        services.AddSingleton(AffiliateTracker.Observability.MetricsAccess.From(config));
        services.AddSingleton(TimeProvider.System);
        return services;
    }

    /// A singleton that tests and other services can call, running as a hosted service too.
    public static void AddWorker<T>(this IServiceCollection services) where T : class, IHostedService
    {
        services.AddSingleton<T>();
        services.AddHostedService(sp => sp.GetRequiredService<T>());
    }
}
