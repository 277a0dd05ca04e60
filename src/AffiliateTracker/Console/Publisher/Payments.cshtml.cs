using AffiliateTracker.Payouts;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Console.Publisher;

/// Money: balances per currency (on hold, available, in payout, paid), the minimum payout, and payout history.
public sealed class PaymentsModel(NpgsqlDataSource db) : ConsolePage
{
    public IReadOnlyList<Balance> Balances { get; private set; } = [];
    public List<PayoutApi.PayoutLineView> Lines { get; private set; } = [];
    public decimal MinPayout { get; private set; }

    public async Task OnGetAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Balances = await PayoutApi.BalancesAsync(conn, Caller, null);
        Lines = await PayoutApi.LinesAsync(conn, Caller, null);
        MinPayout = await conn.ExecuteScalarAsync<decimal>("SELECT min_payout FROM publishers WHERE id = @id", new { id = Caller.PublisherId });
    }
}
