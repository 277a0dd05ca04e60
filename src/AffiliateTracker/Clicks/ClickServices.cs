namespace AffiliateTracker.Clicks;

/// The redirect and everything behind it: caps, the group commit to Redis, the flush to PostgreSQL.
public static class ClickServices
{
    public static IServiceCollection AddClickTracking(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<ClickOptions>(config.GetSection("Clicks"));
        services.AddSingleton<VisitorCountry>();
        services.AddSingleton(sp => TrafficClassifier.FromConfiguration(config, sp.GetRequiredService<ILogger<TrafficClassifier>>()));
        services.AddSingleton<CapCounters>();
        services.AddHostedService(sp => sp.GetRequiredService<CapCounters>());
        services.AddSingleton<ClickRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<ClickRecorder>());
        services.AddSingleton<ClickStore>();
        services.AddSingleton<ClickFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<ClickFlusher>());
        return services;
    }
}
