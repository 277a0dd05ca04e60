using AffiliateTracker.Payouts;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// Payout runs: the list, and a new run over everything approved before a moment (PayoutRuns claims it).
public sealed class PayoutsModel(NpgsqlDataSource db, PayoutRuns runs, TimeProvider time) : ConsolePage
{
    public List<(PayoutRun Run, int Lines, string Totals)> Runs { get; private set; } = [];
    public IReadOnlyList<Balance> Available { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostCreateAsync(DateTime? periodEnd)
    {
        Caller.RequireAdmin();
        var end = periodEnd is { } p ? new DateTimeOffset(DateTime.SpecifyKind(p, DateTimeKind.Utc)) : time.GetUtcNow();
        if (end > time.GetUtcNow().AddMinutes(1)) { await LoadAsync(); return Refuse("periodEnd", T["Payouts.FutureEnd"]); }
        var run = await runs.CreateAsync(end, Caller.Actor);
        return Redirect($"/admin/payouts/{run.Id}");
    }

    private async Task LoadAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        var list = (await conn.QueryAsync<PayoutRun>("SELECT * FROM payout_runs ORDER BY id DESC LIMIT 100")).ToList();
        var totals = (await conn.QueryAsync<(long RunId, string Currency, decimal Amount, long Lines)>("""
            SELECT run_id, currency, sum(amount), count(*) FROM payout_lines WHERE run_id = ANY(@ids) AND status <> 'cancelled' GROUP BY 1, 2 ORDER BY 1, 2
            """, new { ids = list.Select(r => r.Id).ToArray() })).ToLookup(t => t.RunId);
        Runs = list.Select(r => (r, (int)totals[r.Id].Sum(t => t.Lines), string.Join(" · ", totals[r.Id].Select(t => T.Money(t.Amount, t.Currency))))).ToList();
        Available = (await PayoutApi.BalancesAsync(conn, Caller, null)).Where(b => b.Available != 0).ToList();
    }
}
