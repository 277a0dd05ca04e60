using System.Text.Json;
using AffiliateTracker.Access;
using AffiliateTracker.Reports;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Console.Publisher;

/// The publisher's dashboard: today, yesterday, 7 and 30 days (UTC), and the last 30 days as a chart, read
/// through the reports API's own query in the publisher's scope.
public sealed class IndexModel(AffiliateTracker.Storage.ReportDatabase reads, TimeProvider time) : ConsolePage
{
    public sealed record Period(string Key, long Clicks, long UniqueClicks, long Conversions, decimal? Cr, decimal? Epc, IReadOnlyList<(string Currency, decimal Amount)> Earnings);

    public List<Period> Periods { get; } = [];
    public string ChartJson { get; private set; } = "{}";

    public async Task OnGetAsync()
    {
        var now = time.GetUtcNow().UtcDateTime;
        var today = now.Date;
        var query = new ReportApi.ReportQuery(["day"], "UTC", today.AddDays(-29), now);
        await using var conn = await reads.OpenAsync();
        var rows = await ReportApi.RunAsync(conn, query, Caller);
        var byDay = rows.ToDictionary(r => ((DateTime)r["day"]!).Date);
        // Earnings per currency: an offer pays in its own currency, and sums never mix them.
        var money = (await conn.QueryAsync<(DateTime Day, string Currency, decimal Payout)>($"""
            SELECT (created_at AT TIME ZONE 'UTC')::date::timestamp, currency, sum(payout) FROM conversions
            WHERE created_at >= @since AND {Caller.Scope("advertiser_id", "publisher_id")} AND status <> 'rejected'
            GROUP BY 1, 2
            """, new { since = today.AddDays(-29), callerPublisher = Caller.PublisherId, callerAdvertiser = Caller.AdvertiserId })).ToList();

        Period Sum(string key, DateTime from, DateTime to)
        {
            var days = byDay.Where(d => d.Key >= from && d.Key < to).Select(d => d.Value).ToList();
            long clicks = days.Sum(d => (long)d["clicks"]!), conversions = days.Sum(d => (long)d["conversions"]!);
            var payout = days.Sum(d => (decimal)d["payout"]!);
            var earnings = money.Where(m => m.Day >= from && m.Day < to).GroupBy(m => m.Currency)
                .Select(g => (g.Key, g.Sum(m => m.Payout))).OrderBy(e => e.Key).ToList();
            return new Period(key, clicks, days.Sum(d => (long)d["unique_clicks"]!), conversions,
                clicks == 0 ? null : Math.Round(conversions * 100m / clicks, 2), clicks == 0 ? null : Math.Round(payout / clicks, 4), earnings);
        }
        Periods.Add(Sum("Period.Today", today, today.AddDays(1)));
        Periods.Add(Sum("Period.Yesterday", today.AddDays(-1), today));
        Periods.Add(Sum("Period.Days7", today.AddDays(-6), today.AddDays(1)));
        Periods.Add(Sum("Period.Days30", today.AddDays(-29), today.AddDays(1)));

        var labels = Enumerable.Range(0, 30).Select(i => today.AddDays(i - 29)).ToList();
        long Count(DateTime d, string field) => byDay.TryGetValue(d, out var r) ? (long)r[field]! : 0;
        ChartJson = JsonSerializer.Serialize(new
        {
            labels = labels.Select(T.Date),
            series = new object[]
            {
                new { label = T["Metric.Clicks"], values = labels.Select(d => Count(d, "clicks")), axis = "y" },
                new { label = T["Metric.Conversions"], values = labels.Select(d => Count(d, "conversions")), axis = "y2" },
            },
        });
    }
}
