using AffiliateTracker.Storage;

namespace AffiliateTracker.Conversions;

/// Postbacks and the pixel, their log, the flush of conversions to PostgreSQL and the hold worker.
public static class ConversionServices
{
    public static IServiceCollection AddConversions(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<ConversionOptions>(config.GetSection("Conversions"));
        services.AddSingleton<ClickLookup>();
        services.AddSingleton<PostbackSigning>();
        services.AddSingleton<ConversionRecorder>();
        services.AddSingleton<PostbackHandler>();
        services.AddSingleton<PostbackReceiver>();
        services.AddSingleton<ConversionStore>();
        services.AddWorker<PostbackLog>();
        services.AddWorker<ConversionFlusher>();
        services.AddWorker<HoldWorker>();
        return services;
    }

    public static void MapConversionsApi(this RouteGroupBuilder api)
    {
        api.MapConversionApi();
        api.MapPostbackLogApi();
        api.MapPostbackCredentials();
    }
}
