using AffiliateTracker.Http;

namespace AffiliateTracker.Network;

/// The network's configuration (advertisers, publishers, offers, links, currency rates): its endpoints and
/// the in-memory snapshot the click and postback paths read.
public static class NetworkServices
{
    public static IServiceCollection AddNetworkConfiguration(this IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton(PublicBaseUrl.From(config));
        services.AddSingleton<NetworkCache>();
        services.AddHostedService(sp => sp.GetRequiredService<NetworkCache>());
        return services;
    }

    public static void MapNetworkApi(this RouteGroupBuilder api)
    {
        api.MapAdvertisers();
        api.MapPublishers();
        api.MapOffers();
        api.MapOfferAccess();
        api.MapLinks();
        api.MapSmartLinks();
        api.MapAccessRequests();
        api.MapCurrencyRates();
    }
}
