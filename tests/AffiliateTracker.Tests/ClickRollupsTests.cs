using AffiliateTracker.Clicks;
using Npgsql;

namespace AffiliateTracker.Tests;

public sealed class ClickRollupsTests
{
    private static ClickRecord Click(string at, long offer = 1, string? country = "US", string? sub1 = "a", bool bot = false) =>
        new(Guid.NewGuid().ToString("N"), DateTimeOffset.Parse(at), offer, 7, null, sub1, null, null, null, null, null, null, null, null, country, bot);

    private static Dictionary<string, Array> Parameters(IReadOnlyList<ClickRecord> clicks, bool[] unique)
    {
        var cmd = new NpgsqlCommand();
        ClickRollups.Of(clicks, unique).AddParameters(cmd);
        return cmd.Parameters.ToDictionary(p => p.ParameterName, p => (Array)p.Value!);
    }

    [Fact]
    public void A_batch_becomes_one_row_per_hour_country_and_sub_group_with_its_click_and_unique_counts()
    {
        var clicks = new[]
        {
            Click("2026-11-22T10:05:00Z"), Click("2026-11-22T10:59:59.999Z"), Click("2026-11-22T11:00:00Z", sub1: "b"),
            Click("2026-11-22T10:30:00Z", country: null, sub1: null, bot: true),
        };
        var p = Parameters(clicks, [true, false, true, true]);

        // Hours: 10:00 has three clicks (one repeat, one bot: one unique), 11:00 one.
        var hours = ((DateTime[])p["h_hour"]).Zip((long[])p["h_clicks"], (long[])p["h_unique"]).OrderBy(r => r.First).ToArray();
        Assert.Equal([(new DateTime(2026, 11, 22, 10, 0, 0, DateTimeKind.Utc), 3L, 1L), (new DateTime(2026, 11, 22, 11, 0, 0, DateTimeKind.Utc), 1L, 1L)], hours);
        Assert.All(hours, h => Assert.Equal(DateTimeKind.Utc, h.First.Kind));

        // Countries: a click without one counts under "", as the SQL path's coalesce(country, '').
        var countries = ((string[])p["c_country"]).Zip((long[])p["c_clicks"], (long[])p["c_unique"]).OrderBy(r => r.First).ToArray();
        Assert.Equal([("", 1L, 0L), ("US", 3L, 2L)], countries);
        Assert.All((DateOnly[])p["c_day"], d => Assert.Equal(new DateOnly(2026, 11, 22), d));

        var subs = ((string[])p["s_sub1"]).Zip((long[])p["s_clicks"], (long[])p["s_unique"]).OrderBy(r => r.First).ToArray();
        Assert.Equal([("", 1L, 0L), ("a", 2L, 1L), ("b", 1L, 1L)], subs);
        Assert.All((string[])p["s_sub2"], s => Assert.Equal("", s));
    }

    [Fact]
    public void Days_and_hours_are_utc_whatever_offset_the_click_time_carries()
    {
        var p = Parameters([Click("2026-11-22T23:30:00-05:00")], [true]);
        Assert.Equal(new DateTime(2026, 11, 23, 4, 0, 0, DateTimeKind.Utc), ((DateTime[])p["h_hour"]).Single());
        Assert.Equal(new DateOnly(2026, 11, 23), ((DateOnly[])p["s_day"]).Single());
    }

    [Fact]
    public void Offers_and_publishers_are_separate_groups()
    {
        var p = Parameters([Click("2026-11-22T10:00:00Z", offer: 1), Click("2026-11-22T10:00:00Z", offer: 2)], [true, true]);
        Assert.Equal([1L, 2L], ((long[])p["h_offer"]).Order());
        Assert.All((long[])p["h_clicks"], n => Assert.Equal(1L, n));
    }
}
