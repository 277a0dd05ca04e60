using System.Globalization;
using System.Text;
using AffiliateTracker.Reports;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Shared;

/// A report page for any role: the reports API's query (ReportApi.RunAsync) in the caller's scope, with a date
/// range, a time zone and a grouping, shown as a table or downloaded as CSV.
public abstract class ReportPage(AffiliateTracker.Storage.ReportDatabase db, TimeProvider time, Clicks.TrafficClassifier traffic) : ConsolePage
{
    private static readonly string[] Common = ["day", "offer", "country", "sub1", "sub2", "sub3", "sub4", "sub5",
        "device_type", "os", "browser", "asn", "datacenter"];
    /// Admins also group by publisher; publishers see only their own traffic anyway.
    public string[] Groupings => Caller.IsAdmin ? [.. Common, "publisher"] : Common;
    public static readonly string[] Zones = ["UTC", "Europe/London", "Europe/Berlin", "Europe/Moscow", "Europe/Istanbul", "Asia/Ho_Chi_Minh",
        "Asia/Shanghai", "Asia/Tokyo", "America/New_York", "America/Los_Angeles", "America/Sao_Paulo"];

    [BindProperty(SupportsGet = true)] public DateTime? From { get; set; }
    [BindProperty(SupportsGet = true)] public DateTime? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Tz { get; set; }
    [BindProperty(SupportsGet = true)] public string? Group { get; set; }

    public List<Dictionary<string, object?>> Rows { get; private set; } = [];
    public AffiliateTracker.Storage.ReplicaLag? ReplicaLag { get; private set; }
    public bool ReplicaLagUnknown { get; private set; }
    public List<string> Dimensions { get; private set; } = ["day"];
    public bool WithRevenue => !Caller.IsPublisher;
    /// What the traffic cost and its return: for publishers (their media buying) and admins, not advertisers.
    public bool WithCost => !Caller.IsAdvertiser;

    public async Task<IActionResult> OnGetAsync(string? format)
    {
        var today = time.GetUtcNow().UtcDateTime.Date;
        From ??= today.AddDays(-6);
        To ??= today;
        Tz ??= "UTC";
        Group = Groupings.Contains(Group) ? Group : "day";
        // The form's "to" is a day, included whole.
        var query = ReportApi.ReportQuery.Parse(Group, Tz, From, To.Value.Date.AddDays(1), time.GetUtcNow().UtcDateTime);
        Dimensions = query.Dimensions;
        await using var conn = await db.OpenAsync();
        Rows = await ReportApi.RunAsync(conn, query, Caller, traffic.Networks);
        // Reports read from the replica when there is one: say how fresh they are.
        try { ReplicaLag = await db.LagAsync(); }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException) { ReplicaLagUnknown = db.IsReplica; }
        return format == "csv" ? Csv() : Page();
    }

    public static string Key(string dimension) => dimension is "offer" or "publisher" ? dimension + "_id" : dimension;
    public static readonly string[] Counts = ["clicks", "unique_clicks", "conversions", "pending", "approved", "rejected"];

    public string Cell(Dictionary<string, object?> row, string dimension) => row[Key(dimension)] switch
    {
        null => "–",
        DateTime d => T.Date(d),
        bool b => b ? T["Review.Datacenter"] : "–",
        int asn when dimension == "asn" => $"AS{asn} {row.GetValueOrDefault("network")}",
        string device when dimension == "device_type" => T["Device." + device],
        var v => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    private FileContentResult Csv()
    {
        var columns = Dimensions.Select(Key).Concat(Dimensions.Contains("asn") ? ["network"] : []).Concat(Counts).Concat(["cr", "epc", "payout"])
            .Concat(WithRevenue ? ["revenue", "profit"] : []).Concat(WithCost ? (WithRevenue ? ["cost", "publisher_profit", "net_profit", "roi"] : ["cost", "profit", "roi"]) : [])
            .ToList();
        var csv = new StringBuilder(string.Join(',', columns)).Append('\n');
        foreach (var row in Rows)
            csv.AppendJoin(',', columns.Select(c => row.GetValueOrDefault(c) switch
            {
                null => "",
                DateTime d => d.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
                decimal m => m.ToString(CultureInfo.InvariantCulture),
                // Sub-ids are the publisher's own text: quoted, and spreadsheet formulas defused.
                string s => Http.CsvField.Of(s),
                var v => Convert.ToString(v, CultureInfo.InvariantCulture),
            })).Append('\n');
        return File(Encoding.UTF8.GetBytes(csv.ToString()), "text/csv; charset=utf-8", $"report-{From:yyyyMMdd}-{To:yyyyMMdd}-{Group}.csv");
    }
}
