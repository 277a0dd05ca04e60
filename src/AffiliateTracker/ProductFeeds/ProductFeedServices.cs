using System.Net;
using System.Text;
using AffiliateTracker.Http;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;

namespace AffiliateTracker.ProductFeeds;

/// Product feeds: their API, the scheduled fetcher and its guarded HTTP client.
public static class ProductFeedServices
{
    public static IServiceCollection AddProductFeeds(this IServiceCollection services, IConfiguration config)
    {
        // YML feeds are often windows-1251; .NET reads only Unicode encodings until the code pages are registered.
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        services.Configure<ProductFeedOptions>(config.GetSection("ProductFeeds"));
        services.AddHttpClient(FeedFetcher.HttpClientName, client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan; // FetchTimeout bounds download and import together
                client.DefaultRequestHeaders.UserAgent.ParseAdd("AffiliateTracker-Feeds/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var handler = OutboundHttp.CreateHandler(sp.GetRequiredService<IOptions<ProductFeedOptions>>().Value.AllowPrivateAddresses);
                handler.AutomaticDecompression = DecompressionMethods.All;
                return handler;
            });
        services.AddWorker<FeedFetcher>();
        return services;
    }
}
