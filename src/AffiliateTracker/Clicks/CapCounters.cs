using System.Collections.Concurrent;
using AffiliateTracker.Network;
using AffiliateTracker.Storage;
using StackExchange.Redis;

namespace AffiliateTracker.Clicks;

/// Live cap counters for the redirect's "is this offer full?" check, without a Redis round trip per
/// click. The counts live in Redis (clicks: INCRBY in each group commit; conversions: in the conversion
/// script); each instance keeps a view, bumped at once for its own clicks and refreshed from Redis
/// every second for everyone else's. Counters only grow within a period, so the view is the larger of
/// the two. A cap may overshoot by about one second of other instances' traffic, never more.
public sealed class CapCounters(ConnectionMultiplexer redis, RedisKeys keys, NetworkCache network, TimeProvider time,
    ILogger<CapCounters> log) : BackgroundService
{
    private readonly ConcurrentDictionary<string, long> _known = new();

    /// Which cap the click would break, or null. Checked before the redirect.
    public string? Reached(OfferConfig offer, Caps? publisherCaps, long publisherId, DateTimeOffset now)
    {
        // Most offers have no cap: no key strings are built for them.
        if (!offer.Caps.Any && publisherCaps is not { Any: true }) return null;
        string day = RedisKeys.Day(now), month = RedisKeys.Month(now);
        if (Over(offer.Caps.DailyClicks, keys.ClickCounter(offer.Id, null, day))) return "daily_click_cap";
        if (Over(offer.Caps.MonthlyClicks, keys.ClickCounter(offer.Id, null, month))) return "monthly_click_cap";
        if (Over(offer.Caps.DailyConversions, keys.ConversionCounter(offer.Id, null, day))) return "daily_conversion_cap";
        if (Over(offer.Caps.MonthlyConversions, keys.ConversionCounter(offer.Id, null, month))) return "monthly_conversion_cap";
        if (publisherCaps is null) return null;
        if (Over(publisherCaps.DailyClicks, keys.ClickCounter(offer.Id, publisherId, day))) return "publisher_daily_click_cap";
        if (Over(publisherCaps.MonthlyClicks, keys.ClickCounter(offer.Id, publisherId, month))) return "publisher_monthly_click_cap";
        if (Over(publisherCaps.DailyConversions, keys.ConversionCounter(offer.Id, publisherId, day))) return "publisher_daily_conversion_cap";
        if (Over(publisherCaps.MonthlyConversions, keys.ConversionCounter(offer.Id, publisherId, month))) return "publisher_monthly_conversion_cap";
        return null;
    }

    /// The click counters a click on this offer must bump (none when no click cap applies), bumped in the
    /// local view at once; the recorder adds them to Redis with the click.
    public string[] CountClick(OfferConfig offer, Caps? publisherCaps, long publisherId, DateTimeOffset now)
    {
        if (offer.Caps.DailyClicks is null && offer.Caps.MonthlyClicks is null
            && publisherCaps?.DailyClicks is null && publisherCaps?.MonthlyClicks is null) return [];
        var list = new List<string>(4);
        string day = RedisKeys.Day(now), month = RedisKeys.Month(now);
        if (offer.Caps.DailyClicks is not null) list.Add(keys.ClickCounter(offer.Id, null, day));
        if (offer.Caps.MonthlyClicks is not null) list.Add(keys.ClickCounter(offer.Id, null, month));
        if (publisherCaps?.DailyClicks is not null) list.Add(keys.ClickCounter(offer.Id, publisherId, day));
        if (publisherCaps?.MonthlyClicks is not null) list.Add(keys.ClickCounter(offer.Id, publisherId, month));
        foreach (var k in list) _known.AddOrUpdate(k, 1, (_, v) => v + 1);
        return [.. list];
    }

    public void Observe(string key, long value) => _known.AddOrUpdate(key, value, (_, v) => Math.Max(v, value));

    private bool Over(int? cap, string key) => cap is { } c && _known.GetValueOrDefault(key) >= c;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await RefreshAsync(); }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested) { log.LogDebug(e, "Cap counter refresh failed"); }
            try { await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// Reads every counter a configured cap depends on (pipelined GETs: the keys live in many slots).
    public async Task RefreshAsync()
    {
        var snapshot = network.Current;
        var now = time.GetUtcNow();
        string day = RedisKeys.Day(now), month = RedisKeys.Month(now);
        var wanted = new List<string>();
        foreach (var offer in snapshot.CappedOffers)
        {
            wanted.Add(keys.ClickCounter(offer.Id, null, day)); wanted.Add(keys.ClickCounter(offer.Id, null, month));
            wanted.Add(keys.ConversionCounter(offer.Id, null, day)); wanted.Add(keys.ConversionCounter(offer.Id, null, month));
        }
        foreach (var (offerId, publisherId) in snapshot.CappedAccess)
        {
            wanted.Add(keys.ClickCounter(offerId, publisherId, day)); wanted.Add(keys.ClickCounter(offerId, publisherId, month));
            wanted.Add(keys.ConversionCounter(offerId, publisherId, day)); wanted.Add(keys.ConversionCounter(offerId, publisherId, month));
        }
        if (wanted.Count == 0) return;
        var db = redis.GetDatabase();
        var values = await Task.WhenAll(wanted.Select(k => db.StringGetAsync(k)));
        for (var i = 0; i < wanted.Count; i++)
            if (values[i].TryParse(out long v)) Observe(wanted[i], v);
    }
}
