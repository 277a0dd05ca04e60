using AffiliateTracker.Http;
using AffiliateTracker.Reports;

namespace AffiliateTracker.Tests;

public sealed class ReportQueryTests
{
    private static readonly DateTime Now = new(2026, 12, 4, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void By_default_a_report_is_the_last_30_days_by_day_in_utc()
    {
        var q = ReportApi.ReportQuery.Parse(null, null, null, null, Now);

        Assert.Equal(["day"], q.Dimensions);
        Assert.Equal(("UTC", Now.AddDays(-30), Now), (q.Zone, q.Since, q.Until));
        Assert.False(q.Daily);
    }

    [Theory]
    [InlineData("day,hour", "takes day or hour")]
    [InlineData("country,sub1", "not country and sub-ids")]
    [InlineData("browser,asn", "not device and network")]
    [InlineData("hour,device_type", "groups device by day, not hour")]
    [InlineData("hour,sub2", "by day, not hour")]
    [InlineData("offer,color", "comma-separated list")]
    public void Groupings_the_rollups_cannot_answer_are_refused_naming_group_by(string groupBy, string problem)
    {
        var e = Assert.Throws<ApiException>(() => ReportApi.ReportQuery.Parse(groupBy, null, null, null, Now));

        Assert.Equal("group_by", e.Field);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void A_row_has_cr_and_epc_and_only_admins_and_advertisers_see_revenue()
    {
        var raw = new Dictionary<string, object?>
        {
            ["offer_id"] = 7L, ["clicks"] = 200L, ["unique_clicks"] = 150L, ["pending"] = 3L, ["approved"] = 1L, ["rejected"] = 2L,
            ["payout"] = 40.00m, ["revenue"] = 60.00m,
        };

        var forAdvertiser = ReportApi.Shape(raw, ["offer"], withRevenue: true);
        var forPublisher = ReportApi.Shape(raw, ["offer"], withRevenue: false);

        Assert.Equal((4L, 2.0000m, 0.2000m, 20.00m), ((long)forAdvertiser["conversions"]!, (decimal)forAdvertiser["cr"]!, (decimal)forAdvertiser["epc"]!,
            (decimal)forAdvertiser["profit"]!));
        Assert.False(forPublisher.ContainsKey("revenue"));
        Assert.False(forPublisher.ContainsKey("profit"));
    }
}
