using AffiliateTracker.Http;
using AffiliateTracker.ProductFeeds;
using Npgsql;

namespace AffiliateTracker.Console.Advertiser;

public sealed class MaterialsModel(NpgsqlDataSource db, PublicBaseUrl publicUrl, FeedFetcher fetcher) : Shared.MaterialsPage(db, publicUrl, fetcher)
{
    public override string Home => "/advertiser/materials";
}
