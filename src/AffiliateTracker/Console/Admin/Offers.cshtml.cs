using AffiliateTracker.Network;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

public sealed class OffersModel(NpgsqlDataSource db) : ConsolePage
{
    public List<OfferView> Offers { get; private set; } = [];
    public Dictionary<long, string> Advertisers { get; private set; } = [];

    public async Task OnGetAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Offers = await OfferApi.LoadManyAsync(conn, Caller, "true", new { });
        Advertisers = (await conn.QueryAsync<(long, string)>("SELECT id, name FROM advertisers")).ToDictionary(a => a.Item1, a => a.Item2);
    }
}
