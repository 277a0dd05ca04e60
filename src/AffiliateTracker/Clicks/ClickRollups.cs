using System.Runtime.InteropServices;
using Npgsql;
using NpgsqlTypes;

namespace AffiliateTracker.Clicks;

/// A click batch's share of the report rollups (click_rollup_hour, _country, _subs, _smart, _device, _network), summed in the flusher:
/// a batch of thousands of clicks usually adds to a few dozen rollup rows, so PostgreSQL upserts those
/// instead of unnesting and grouping every click. Hours and days are UTC, as in the SQL of the re-delivery
/// path (ClickStore.RollupsSql). Clicks that are not unique or come from bots count in clicks only.
public sealed class ClickRollups
{
    private readonly Dictionary<(DateTime Hour, long Offer, long Publisher), Counts> _hours = [];
    private readonly Dictionary<(DateOnly Day, long Offer, long Publisher, string Country), Counts> _countries = [];
    private readonly Dictionary<(DateOnly Day, long Offer, long Publisher, long SmartLink, short Rule), Counts> _smart = [];
    private readonly Dictionary<(DateOnly Day, long Offer, long Publisher, string Sub1, string Sub2, string Sub3, string Sub4, string Sub5), Counts> _subs = [];

    private readonly Dictionary<(DateOnly Day, long Offer, long Publisher, string Device, string Os, string OsVersion, string Browser), Counts> _devices = [];
    private readonly Dictionary<(DateOnly Day, long Offer, long Publisher, int Asn, bool Datacenter), Counts> _networks = [];

    private struct Counts
    {
        public long Clicks;
        public long Unique;
        public decimal Cost;
    }

    public static ClickRollups Of(IReadOnlyList<ClickRecord> clicks, bool[] unique)
    {
        var rollups = new ClickRollups();
        for (var i = 0; i < clicks.Count; i++)
        {
            var c = clicks[i];
            var at = c.CreatedAt.UtcDateTime;
            var hour = new DateTime(at.Year, at.Month, at.Day, at.Hour, 0, 0, DateTimeKind.Utc);
            var day = DateOnly.FromDateTime(at);
            var countsUnique = unique[i] && !c.IsBot;
            Add(rollups._hours, (hour, c.OfferId, c.PublisherId), countsUnique, c.Cost);
            Add(rollups._countries, (day, c.OfferId, c.PublisherId, c.Country ?? ""), countsUnique);
            Add(rollups._subs, (day, c.OfferId, c.PublisherId, c.Sub1 ?? "", c.Sub2 ?? "", c.Sub3 ?? "", c.Sub4 ?? "", c.Sub5 ?? ""), countsUnique, c.Cost);
            var t = c.Traffic;
            Add(rollups._devices, (day, c.OfferId, c.PublisherId, t?.DeviceType ?? "", t?.Os ?? "", t?.OsVersion ?? "", t?.Browser ?? ""), countsUnique);
            Add(rollups._networks, (day, c.OfferId, c.PublisherId, t?.Asn ?? 0, t?.IsDatacenter ?? false), countsUnique);
            if (c is { SmartLinkId: { } smart, SmartRule: { } rule }) Add(rollups._smart, (day, c.OfferId, c.PublisherId, smart, (short)rule), countsUnique);
        }
        return rollups;
    }

    private static void Add<TKey>(Dictionary<TKey, Counts> map, TKey key, bool countsUnique, decimal? cost = null) where TKey : notnull
    {
        ref var counts = ref CollectionsMarshal.GetValueRefOrAddDefault(map, key, out _);
        counts.Clicks++;
        if (countsUnique) counts.Unique++;
        if (cost is { } c) counts.Cost += c;
    }

    /// The rows as the array parameters of ClickStore's direct rollup statement (@h_*, @c_*, @s_*).
    public void AddParameters(NpgsqlCommand cmd)
    {
        var hours = _hours.ToArray();
        Add(cmd, "h_hour", NpgsqlDbType.TimestampTz, hours.Select(r => r.Key.Hour));
        Add(cmd, "h_offer", NpgsqlDbType.Bigint, hours.Select(r => r.Key.Offer));
        Add(cmd, "h_publisher", NpgsqlDbType.Bigint, hours.Select(r => r.Key.Publisher));
        Add(cmd, "h_clicks", NpgsqlDbType.Bigint, hours.Select(r => r.Value.Clicks));
        Add(cmd, "h_unique", NpgsqlDbType.Bigint, hours.Select(r => r.Value.Unique));
        Add(cmd, "h_cost", NpgsqlDbType.Numeric, hours.Select(r => r.Value.Cost));

        var devices = _devices.ToArray();
        Add(cmd, "d_day", NpgsqlDbType.Date, devices.Select(r => r.Key.Day));
        Add(cmd, "d_offer", NpgsqlDbType.Bigint, devices.Select(r => r.Key.Offer));
        Add(cmd, "d_publisher", NpgsqlDbType.Bigint, devices.Select(r => r.Key.Publisher));
        Add(cmd, "d_device", NpgsqlDbType.Text, devices.Select(r => r.Key.Device));
        Add(cmd, "d_os", NpgsqlDbType.Text, devices.Select(r => r.Key.Os));
        Add(cmd, "d_os_version", NpgsqlDbType.Text, devices.Select(r => r.Key.OsVersion));
        Add(cmd, "d_browser", NpgsqlDbType.Text, devices.Select(r => r.Key.Browser));
        Add(cmd, "d_clicks", NpgsqlDbType.Bigint, devices.Select(r => r.Value.Clicks));
        Add(cmd, "d_unique", NpgsqlDbType.Bigint, devices.Select(r => r.Value.Unique));

        var networks = _networks.ToArray();
        Add(cmd, "n_day", NpgsqlDbType.Date, networks.Select(r => r.Key.Day));
        Add(cmd, "n_offer", NpgsqlDbType.Bigint, networks.Select(r => r.Key.Offer));
        Add(cmd, "n_publisher", NpgsqlDbType.Bigint, networks.Select(r => r.Key.Publisher));
        Add(cmd, "n_asn", NpgsqlDbType.Integer, networks.Select(r => r.Key.Asn));
        Add(cmd, "n_datacenter", NpgsqlDbType.Boolean, networks.Select(r => r.Key.Datacenter));
        Add(cmd, "n_clicks", NpgsqlDbType.Bigint, networks.Select(r => r.Value.Clicks));
        Add(cmd, "n_unique", NpgsqlDbType.Bigint, networks.Select(r => r.Value.Unique));

        var countries = _countries.ToArray();
        Add(cmd, "c_day", NpgsqlDbType.Date, countries.Select(r => r.Key.Day));
        Add(cmd, "c_offer", NpgsqlDbType.Bigint, countries.Select(r => r.Key.Offer));
        Add(cmd, "c_publisher", NpgsqlDbType.Bigint, countries.Select(r => r.Key.Publisher));
        Add(cmd, "c_country", NpgsqlDbType.Text, countries.Select(r => r.Key.Country));
        Add(cmd, "c_clicks", NpgsqlDbType.Bigint, countries.Select(r => r.Value.Clicks));
        Add(cmd, "c_unique", NpgsqlDbType.Bigint, countries.Select(r => r.Value.Unique));

        var smart = _smart.ToArray();
        Add(cmd, "m_day", NpgsqlDbType.Date, smart.Select(r => r.Key.Day));
        Add(cmd, "m_offer", NpgsqlDbType.Bigint, smart.Select(r => r.Key.Offer));
        Add(cmd, "m_publisher", NpgsqlDbType.Bigint, smart.Select(r => r.Key.Publisher));
        Add(cmd, "m_link", NpgsqlDbType.Bigint, smart.Select(r => r.Key.SmartLink));
        Add(cmd, "m_rule", NpgsqlDbType.Smallint, smart.Select(r => r.Key.Rule));
        Add(cmd, "m_clicks", NpgsqlDbType.Bigint, smart.Select(r => r.Value.Clicks));
        Add(cmd, "m_unique", NpgsqlDbType.Bigint, smart.Select(r => r.Value.Unique));

        var subs = _subs.ToArray();
        Add(cmd, "s_day", NpgsqlDbType.Date, subs.Select(r => r.Key.Day));
        Add(cmd, "s_offer", NpgsqlDbType.Bigint, subs.Select(r => r.Key.Offer));
        Add(cmd, "s_publisher", NpgsqlDbType.Bigint, subs.Select(r => r.Key.Publisher));
        Add(cmd, "s_sub1", NpgsqlDbType.Text, subs.Select(r => r.Key.Sub1));
        Add(cmd, "s_sub2", NpgsqlDbType.Text, subs.Select(r => r.Key.Sub2));
        Add(cmd, "s_sub3", NpgsqlDbType.Text, subs.Select(r => r.Key.Sub3));
        Add(cmd, "s_sub4", NpgsqlDbType.Text, subs.Select(r => r.Key.Sub4));
        Add(cmd, "s_sub5", NpgsqlDbType.Text, subs.Select(r => r.Key.Sub5));
        Add(cmd, "s_clicks", NpgsqlDbType.Bigint, subs.Select(r => r.Value.Clicks));
        Add(cmd, "s_unique", NpgsqlDbType.Bigint, subs.Select(r => r.Value.Unique));
        Add(cmd, "s_cost", NpgsqlDbType.Numeric, subs.Select(r => r.Value.Cost));
    }

    private static void Add<T>(NpgsqlCommand cmd, string name, NpgsqlDbType type, IEnumerable<T> values) =>
        cmd.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values.ToArray() });
}
