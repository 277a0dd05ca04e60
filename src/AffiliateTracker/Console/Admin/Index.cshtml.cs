using AffiliateTracker.Clicks;
using AffiliateTracker.Health;
using AffiliateTracker.Payouts;
using AffiliateTracker.Reports;
using AffiliateTracker.Storage;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using StackExchange.Redis;

namespace AffiliateTracker.Console.Admin;

/// The network today: clicks, conversions and money (per currency), the flushes' backlog and lag (as /health
/// reports them), what waits for an admin, and the ledger check on demand.
public sealed class IndexModel(NpgsqlDataSource db, ReportDatabase reads, ConnectionMultiplexer redis, RedisKeys keys, ClickRecorder recorder, TimeProvider time) : ConsolePage
{
    public long Clicks { get; private set; }
    public long UniqueClicks { get; private set; }
    public long Conversions { get; private set; }
    public List<(string Currency, decimal Revenue, decimal Payout)> Money { get; private set; } = [];
    public HealthEndpoints.HealthReport Health { get; private set; } = null!;
    public (long Publishers, long AccessRequests, long Review, long DraftRuns) Waiting { get; private set; }
    public IReadOnlyList<LedgerCheck.Violation>? Ledger { get; private set; }

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostLedgerAsync()
    {
        await using (var conn = await db.OpenConnectionAsync()) Ledger = await LedgerCheck.RunAsync(conn);
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        var now = time.GetUtcNow().UtcDateTime;
        List<Dictionary<string, object?>> today;
        await using (var replica = await reads.OpenAsync())
            today = await ReportApi.RunAsync(replica, new ReportApi.ReportQuery(["day"], "UTC", now.Date, now), Caller);
        await using var conn = await db.OpenConnectionAsync();
        Clicks = today.Sum(r => (long)r["clicks"]!);
        UniqueClicks = today.Sum(r => (long)r["unique_clicks"]!);
        Conversions = today.Sum(r => (long)r["conversions"]!);
        Money = (await conn.QueryAsync<(string, decimal, decimal)>("""
            SELECT currency, sum(revenue), sum(payout) FROM conversions WHERE created_at >= @since AND status <> 'rejected' GROUP BY 1 ORDER BY 1
            """, new { since = now.Date })).ToList();
        Waiting = await conn.QuerySingleAsync<(long, long, long, long)>("""
            SELECT (SELECT count(*) FROM publishers WHERE status = 'pending'), (SELECT count(*) FROM access_requests WHERE status = 'pending'),
                   (SELECT count(*) FROM conversions WHERE status = 'pending' AND cardinality(flags) > 0),
                   (SELECT count(*) FROM payout_runs WHERE status = 'draft')
            """);
        Health = await HealthEndpoints.ReadAsync(redis, db, reads, keys, recorder, time);
    }
}
