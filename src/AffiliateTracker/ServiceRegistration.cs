using AffiliateTracker.Http;
using System.Text.Json;
using AffiliateTracker.Api;
using AffiliateTracker.Clicks;
using AffiliateTracker.Conversions;
using AffiliateTracker.PublisherPostbacks;
using AffiliateTracker.Demo;
using AffiliateTracker.Network;
using AffiliateTracker.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace AffiliateTracker;

/// What Program.cs wires up, one method per feature.
public static class ServiceRegistration
{
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration config)
    {
        var postgres = config.GetConnectionString("Postgres")
            ?? throw new InvalidOperationException("ConnectionStrings:Postgres is not set (see README: deploy/services.sh env)");
        var redis = config.GetConnectionString("Redis")
            ?? throw new InvalidOperationException("ConnectionStrings:Redis is not set (see README: deploy/services.sh env)");
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(postgres).Build());
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
        services.AddSingleton(new RedisKeys(config["Redis:KeyPrefix"] ?? "at:", config.GetValue("Conversions:StreamShards", 1), config.GetValue("Clicks:StreamShards", 1)));
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<FlushConsumer>();
        // Test-only fault injection (tests/fault); off unless Faults:CrashAfterFlushCommit is set.
        services.Configure<FaultOptions>(config.GetSection("Faults"));
        services.AddSingleton<AffiliateTracker.Observability.TrackerMetrics>();
        services.AddSingleton(AffiliateTracker.Observability.MetricsAccess.From(config));
        services.AddSingleton(TimeProvider.System);
        return services;
    }

    public static IServiceCollection AddNetworkConfiguration(this IServiceCollection services)
    {
        services.AddSingleton<NetworkCache>();
        services.AddHostedService(sp => sp.GetRequiredService<NetworkCache>());
        return services;
    }

    public static IServiceCollection AddClickTracking(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<ClickOptions>(config.GetSection("Clicks"));
        services.AddSingleton<VisitorCountry>();
        services.AddSingleton<CapCounters>();
        services.AddHostedService(sp => sp.GetRequiredService<CapCounters>());
        services.AddSingleton<ClickRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<ClickRecorder>());
        services.AddSingleton<ClickStore>();
        services.AddSingleton<ClickFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<ClickFlusher>());
        return services;
    }

    public static IServiceCollection AddConversions(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<ConversionOptions>(config.GetSection("Conversions"));
        services.AddSingleton<ClickLookup>();
        services.AddSingleton<PostbackSigning>();
        services.AddSingleton<ConversionRecorder>();
        services.AddSingleton<PostbackHandler>();
        services.AddSingleton<ConversionStore>();
        AddWorker<PostbackLog>(services);
        AddWorker<ConversionFlusher>(services);
        AddWorker<HoldWorker>(services);
        return services;
    }

    public static IServiceCollection AddMoney(this IServiceCollection services)
    {
        services.AddSingleton<AffiliateTracker.Payouts.PayoutRuns>();
        services.AddSingleton<AffiliateTracker.Reconciliation.ReconciliationService>();
        return services;
    }

    public static IServiceCollection AddPublisherPostbacks(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<PublisherPostbackOptions>(config.GetSection("PublisherPostbacks"));
        services.AddHttpClient(PublisherPostbackSender.HttpClientName, (sp, client) =>
            {
                client.Timeout = sp.GetRequiredService<IOptions<PublisherPostbackOptions>>().Value.Timeout;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("AffiliateTracker-Postback/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(sp => PublisherPostbackSender.CreateHandler(sp.GetRequiredService<IOptions<PublisherPostbackOptions>>().Value));
        AddWorker<PublisherPostbackSender>(services);
        return services;
    }

    // A singleton that tests and other services can call, running as a hosted service too.
    private static void AddWorker<T>(IServiceCollection services) where T : class, IHostedService
    {
        services.AddSingleton<T>();
        services.AddHostedService(sp => sp.GetRequiredService<T>());
    }

    public static IServiceCollection AddManagementApi(this IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton(PublicBaseUrl.From(config));
        services.AddAuthentication(ApiKeys.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeys.Scheme, null);
        services.AddAuthorization();
        services.ConfigureHttpJsonOptions(o =>
        {
            // The wire contract's names: click_id, offer_id, landing_url ...
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        return services;
    }

    public static IServiceCollection AddDemo(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<DemoOptions>(config.GetSection("Demo"));
        services.AddSingleton<DemoSeeder>();
        return services;
    }

    public static bool DemoEnabled(this IServiceProvider services) => services.GetRequiredService<IOptions<DemoOptions>>().Value.Enabled;

    /// Before the server takes traffic: migrate, create this month's and next month's click partitions,
    /// load the network configuration, seed the demo network when asked.
    public static async Task PrepareAsync(this WebApplication app)
    {
        await app.Services.GetRequiredService<MigrationRunner>().ApplyAsync();
        var db = app.Services.GetRequiredService<NpgsqlDataSource>();
        await using (var conn = await db.OpenConnectionAsync())
        {
            var now = DateTime.UtcNow;
            var month = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc);
            for (var i = -1; i <= 2; i++) await ClickStore.EnsurePartitionAsync(conn, month.AddMonths(i), CancellationToken.None);
        }
        await app.Services.GetRequiredService<NetworkCache>().ReloadAsync();
        if (app.Services.DemoEnabled()) await app.Services.GetRequiredService<DemoSeeder>().SeedAsync();
    }
}
