using AffiliateTracker.Network;
using Npgsql;

namespace AffiliateTracker.Console.Advertiser;

/// The advertiser's offers and goals, as the API shows them to the advertiser. The network (an admin) edits terms.
public sealed class IndexModel(AffiliateTracker.Storage.ReportDatabase reads) : ConsolePage
{
    public List<OfferView> Offers { get; private set; } = [];

    public async Task OnGetAsync()
    {
        await using var conn = await reads.OpenAsync();
        Offers = await OfferApi.LoadManyAsync(conn, Caller, "true", new { });
    }
}
