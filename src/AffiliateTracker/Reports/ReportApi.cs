using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Reports;

/// GET /api/v1/reports: clicks, unique clicks, conversions by status, CR, EPC, payout (and for admins and
/// advertisers revenue and profit), grouped by time and dimensions, in the caller's scope.
/// Clicks come from the rollups (the smallest one that covers the grouping); conversions from the
/// conversions table, always current (a conversion counts on the day it was reported).
public static class ReportApi
{
    public static void MapReportsApi(this RouteGroupBuilder api)
    {
        api.MapReportApi();
        api.MapClickStats();
        api.MapTrafficCosts();
    }

    private static readonly HashSet<string> Allowed = ["day", "hour", "offer", "publisher", "goal", "country", "sub1", "sub2", "sub3", "sub4", "sub5",
        "smart_link", "smart_rule", "device_type", "os", "os_version", "browser", "asn", "datacenter"];

    /// Which rollup answers a dimension beyond time, offer, publisher and goal: one family per report.
    private static string? Family(string d) => d switch
    {
        "country" => "country",
        "smart_link" or "smart_rule" => "smart links",
        "device_type" or "os" or "os_version" or "browser" => "device",
        "asn" or "datacenter" => "network",
        _ when d.StartsWith("sub") => "sub-ids",
        _ => null,
    };

    public static void MapReportApi(this RouteGroupBuilder api)
    {
        api.MapGet("/reports", async (Caller caller, AffiliateTracker.Storage.ReportDatabase reads, TimeProvider time, Clicks.TrafficClassifier traffic, DateTime? from, DateTime? to,
            [Microsoft.AspNetCore.Mvc.FromQuery(Name = "group_by")] string? groupBy, string? tz) =>
        {
            var query = ReportQuery.Parse(groupBy, tz, from, to, time.GetUtcNow().UtcDateTime);
            await using var conn = await reads.OpenAsync();
            return await RunAsync(conn, query, caller, traffic.Networks);
        }).WithTags("Reports");
    }

    /// The report as the API answers it, in the caller's scope; the console's dashboard and report pages read it too.
    public static async Task<List<Dictionary<string, object?>>> RunAsync(NpgsqlConnection conn, ReportQuery query, Caller caller,
        Clicks.NetworkLookup? networks = null)
    {
        var rows = await conn.QueryAsync(Sql(query, caller), new { since = query.Since, until = query.Until, zone = query.Zone,
            callerPublisher = caller.PublisherId, callerAdvertiser = caller.AdvertiserId });
        return rows.Select(r => Shape((IDictionary<string, object?>)r, query.Dimensions, withRevenue: !caller.IsPublisher, withCost: !caller.IsAdvertiser,
            networks)).ToList();
    }

    /// A report's grouping and period, checked: which dimensions, in which time zone, over which UTC interval.
    public sealed record ReportQuery(List<string> Dimensions, string Zone, DateTime Since, DateTime Until)
    {
        public List<string> SubIds => Dimensions.Where(d => d.StartsWith("sub")).ToList();
        public string? RollupFamily => Dimensions.Select(Family).FirstOrDefault(f => f is not null);
        /// Smart-link reports count only clicks a smart link chose, and the conversions of those clicks.
        public bool Smart => RollupFamily == "smart links";
        // Every rollup but the hourly one is kept per UTC day; finer time zones apply to the hourly rollup.
        public bool Daily => RollupFamily is not null;
        /// Clicks' own cost (cost= on the link) is summed in the hourly and sub-id rollups.
        public bool ClickCost => RollupFamily is null or "sub-ids";
        /// Uploaded costs are per day, offer, publisher and sub1: they join reports grouped by nothing finer.
        public bool UploadedCost => Dimensions.All(d => d is "day" or "offer" or "publisher" or "sub1");

        public static ReportQuery Parse(string? groupBy, string? tz, DateTime? from, DateTime? to, DateTime nowUtc)
        {
            var dims = (groupBy ?? "day").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
            if (dims.Count == 0 || dims.Any(d => !Allowed.Contains(d)))
                throw ApiException.Invalid("group_by", $"must be a comma-separated list of: {string.Join(", ", Allowed)}");
            if (dims.Contains("day") && dims.Contains("hour")) throw ApiException.Invalid("group_by", "takes day or hour, not both");
            var families = dims.Select(Family).OfType<string>().Distinct().ToList();
            if (families.Count > 1)
                throw ApiException.Invalid("group_by", $"takes one of country, sub-ids, smart links, device (device_type, os, os_version, browser) or network (asn, datacenter) at a time, not {string.Join(" and ", families)}");
            if (families.Count == 1 && dims.Contains("hour"))
                throw ApiException.Invalid("group_by", $"groups {families[0]} by day, not hour");
            var zone = tz ?? "UTC";
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _)) throw ApiException.Invalid("tz", "must be an IANA time zone such as Europe/Berlin");
            // Dates near DateTime's ends would overflow the default 30-day span below.
            if (from is { Year: < 2000 or > 2100 }) throw ApiException.Invalid("from", "must be between 2000 and 2100");
            if (to is { Year: < 2000 or > 2100 }) throw ApiException.Invalid("to", "must be between 2000 and 2100");
            var until = (to ?? nowUtc).ToUniversalTime();
            var since = (from ?? until.AddDays(-30)).ToUniversalTime();
            if (since >= until || until - since > TimeSpan.FromDays(400)) throw ApiException.Invalid("from", "must be before to, at most 400 days apart");
            return new ReportQuery(dims, zone, since, until);
        }
    }

    private static string Name(string d) => d is "offer" or "publisher" or "smart_link" ? d + "_id" : d;

    private static string Rollup(ReportQuery q) => q.RollupFamily switch
    {
        "sub-ids" => "click_rollup_subs", "country" => "click_rollup_country", "smart links" => "click_rollup_smart",
        "device" => "click_rollup_device", "network" => "click_rollup_network", _ => "click_rollup_hour",
    };

    /// Clicks from the rollup that holds the asked dimensions, conversions live from `conversions`, joined on
    /// the dimensions, both in the caller's scope.
    private static string Sql(ReportQuery q, Caller caller)
    {
        var daily = q.Daily;
        var rollup = Rollup(q);
        string ClickDim(string d) => d switch
        {
            "day" => daily ? "r.day::timestamp" : "date_trunc('day', r.hour AT TIME ZONE @zone)",
            "hour" => "date_trunc('hour', r.hour AT TIME ZONE @zone)",
            "offer" => "r.offer_id", "publisher" => "r.publisher_id", "goal" => "NULL::text", "country" => "r.country",
            "smart_link" => "r.smart_link_id", "datacenter" => "r.is_datacenter",
            _ => $"r.{d}",
        };
        string ConvDim(string d) => d switch
        {
            "day" => daily ? "(c.created_at AT TIME ZONE 'UTC')::date::timestamp" : "date_trunc('day', c.created_at AT TIME ZONE @zone)",
            "hour" => "date_trunc('hour', c.created_at AT TIME ZONE @zone)",
            "offer" => "c.offer_id", "publisher" => "c.publisher_id", "goal" => "c.goal", "country" => "coalesce(c.country, '')",
            "smart_link" => "k.smart_link_id", "smart_rule" => "k.smart_rule",
            "asn" => "coalesce(c.asn, 0)", "datacenter" => "coalesce(c.is_datacenter, false)",
            _ => $"coalesce(c.{d}, '')",
        };
        var period = daily ? "r.day >= (@since AT TIME ZONE 'UTC')::date AND r.day < (@until AT TIME ZONE 'UTC')::date + 1"
                           : "r.hour >= @since AND r.hour < @until";
        var scopeR = caller.Scope(null, "r.publisher_id", advertiserCondition: "r.offer_id IN (SELECT id FROM offers WHERE advertiser_id = @callerAdvertiser)");
        var scopeC = caller.Scope("c.advertiser_id", "c.publisher_id");
        var names = string.Join(", ", q.Dimensions.Select(Name));
        // By position inside the CTEs: a bare name (offer_id) would be ambiguous where conversions join clicks.
        var positions = string.Join(", ", Enumerable.Range(1, q.Dimensions.Count));
        string CostDim(string d) => d switch
        {
            "day" => "t.day::timestamp", "offer" => "t.offer_id", "publisher" => "t.publisher_id", _ => "t.sub1",
        };
        // Costs are the publisher's business and the network's: advertisers see none.
        var scopeT = caller.IsAdvertiser ? "false" : caller.Scope(null, "t.publisher_id");
        var uploaded = q.UploadedCost ? $"""
            SELECT {string.Join(", ", q.Dimensions.Select(d => $"{CostDim(d)} AS {Name(d)}"))}, sum(t.amount) AS cost
            FROM traffic_costs t
            WHERE t.day >= (@since AT TIME ZONE 'UTC')::date AND t.day <= ((@until - interval '1 microsecond') AT TIME ZONE 'UTC')::date AND {scopeT}
            GROUP BY {positions}
            """ : null;
        return $"""
            WITH k AS (
                SELECT {string.Join(", ", q.Dimensions.Select(d => $"{ClickDim(d)} AS {Name(d)}"))}, sum(r.clicks) AS clicks, sum(r.unique_clicks) AS unique_clicks,
                       {(q.ClickCost ? "sum(r.cost)" : q.UploadedCost ? "0" : "NULL::numeric")} AS cost
                FROM {rollup} r WHERE {period} AND {scopeR}
                GROUP BY {positions}
            ), v AS (
                SELECT {string.Join(", ", q.Dimensions.Select(d => $"{ConvDim(d)} AS {Name(d)}"))},
                       count(*) FILTER (WHERE c.status = 'pending') AS pending, count(*) FILTER (WHERE c.status = 'approved') AS approved,
                       count(*) FILTER (WHERE c.status = 'rejected') AS rejected,
                       coalesce(sum(c.payout) FILTER (WHERE c.status <> 'rejected'), 0) AS payout,
                       coalesce(sum(c.revenue) FILTER (WHERE c.status <> 'rejected'), 0) AS revenue
                FROM conversions c {(q.Smart ? SmartClicks : "")} WHERE c.created_at >= @since AND c.created_at < @until AND {scopeC}
                GROUP BY {positions}
            )
            {(uploaded is null ? "" : $", u AS ({uploaded})")}
            SELECT {names}, sum(clicks) AS clicks, sum(unique_clicks) AS unique_clicks, sum(pending) AS pending, sum(approved) AS approved,
                   sum(rejected) AS rejected, sum(payout) AS payout, sum(revenue) AS revenue, sum(cost) AS cost
            FROM (
                SELECT {names}, clicks, unique_clicks, 0 AS pending, 0 AS approved, 0 AS rejected, 0 AS payout, 0 AS revenue, cost FROM k
                UNION ALL
                SELECT {names}, 0, 0, pending, approved, rejected, payout, revenue, {(q.ClickCost || q.UploadedCost ? "0" : "NULL::numeric")} FROM v
                {(uploaded is null ? "" : $"UNION ALL SELECT {names}, 0, 0, 0, 0, 0, 0, 0, cost FROM u")}
            ) x
            GROUP BY {names}
            ORDER BY {names}
            LIMIT 10000
            """;
    }

    // A conversion's smart link is its click's: one primary-key lookup per conversion in the period.
    private const string SmartClicks = "JOIN clicks k ON k.click_id = c.click_id AND k.created_at = c.click_created_at AND k.smart_link_id IS NOT NULL";

    /// One report row as the API answers it: the dimensions, the counts, CR and EPC, and money: revenue and the
    /// network's profit for admins and advertisers; what the traffic cost, the publisher's profit on it and its ROI
    /// for publishers and admins (and for admins the network's profit net of that cost, for traffic it bought itself).
    public static Dictionary<string, object?> Shape(IDictionary<string, object?> d, IReadOnlyList<string> dimensions, bool withRevenue,
        bool withCost = false, Clicks.NetworkLookup? networks = null)
    {
        var row = new Dictionary<string, object?>();
        foreach (var dim in dimensions) row[Name(dim)] = d[Name(dim)] is "" or 0 ? null : d[Name(dim)];
        if (dimensions.Contains("asn") && d["asn"] is int asn && asn != 0) row["network"] = networks?.NameOf(asn);
        long clicks = Convert.ToInt64(d["clicks"]), conversions = Convert.ToInt64(d["pending"]) + Convert.ToInt64(d["approved"]);
        decimal payout = Convert.ToDecimal(d["payout"]), revenue = Convert.ToDecimal(d["revenue"]);
        row["clicks"] = clicks;
        row["unique_clicks"] = Convert.ToInt64(d["unique_clicks"]);
        row["conversions"] = conversions;
        row["pending"] = Convert.ToInt64(d["pending"]); row["approved"] = Convert.ToInt64(d["approved"]); row["rejected"] = Convert.ToInt64(d["rejected"]);
        row["cr"] = clicks == 0 ? null : Math.Round(conversions * 100m / clicks, 4);
        row["epc"] = clicks == 0 ? null : Math.Round(payout / clicks, 4);
        row["payout"] = payout;
        if (withRevenue) { row["revenue"] = revenue; row["profit"] = revenue - payout; }
        if (withCost)
        {
            // No cost where the rollup behind the grouping does not keep it (country, device, network, smart links).
            decimal? cost = d.TryGetValue("cost", out var c) && c is not null ? Convert.ToDecimal(c) : null;
            row["cost"] = cost;
            if (withRevenue) { row["publisher_profit"] = payout - cost; row["net_profit"] = revenue - payout - cost; }
            else row["profit"] = payout - cost;
            // Return on what the traffic cost, in percent: (payout - cost) / cost.
            row["roi"] = cost is null or 0 ? null : Math.Round((payout - cost.Value) * 100m / cost.Value, 2);
        }
        return row;
    }
}
