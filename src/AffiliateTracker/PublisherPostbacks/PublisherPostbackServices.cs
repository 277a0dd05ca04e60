using AffiliateTracker.Http;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;

namespace AffiliateTracker.PublisherPostbacks;

/// Delivery of publisher postbacks from the outbox the conversion writes fill (Conversions/PublisherPostbackOutbox.cs).
public static class PublisherPostbackServices
{
    public static IServiceCollection AddPublisherPostbacks(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<PublisherPostbackOptions>(config.GetSection("PublisherPostbacks"));
        services.AddHttpClient(PublisherPostbackSender.HttpClientName, (sp, client) =>
            {
                client.Timeout = sp.GetRequiredService<IOptions<PublisherPostbackOptions>>().Value.Timeout;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("AffiliateTracker-Postback/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(sp => OutboundHttp.CreateHandler(sp.GetRequiredService<IOptions<PublisherPostbackOptions>>().Value.AllowPrivateAddresses));
        services.AddWorker<PublisherPostbackSender>();
        return services;
    }
}
