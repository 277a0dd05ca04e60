using System.Collections.Frozen;
using AffiliateTracker.Storage;
using Dapper;
using Npgsql;
using StackExchange.Redis;

namespace AffiliateTracker.Network;

/// Holds the network configuration in memory so the click path never waits on PostgreSQL.
/// A write through the management API reloads it here and publishes on Redis so every other instance
/// reloads too; a periodic reload covers a missed message (an instance that was disconnected).
public sealed class NetworkCache(NpgsqlDataSource db, ConnectionMultiplexer redis, RedisKeys keys, ILogger<NetworkCache> log)
    : BackgroundService
{
    private static readonly TimeSpan SafetyReloadInterval = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _reloadLock = new(1, 1);
    private volatile NetworkSnapshot _current = NetworkSnapshot.Empty;

    public NetworkSnapshot Current => _current;

    /// Called after a configuration write commits: reload here, then tell the other instances.
    public async Task ChangedAsync()
    {
        await ReloadAsync();
        try
        {
            await redis.GetSubscriber().PublishAsync(keys.ConfigChannel, "changed");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Other instances still pick the change up on their periodic reload.
            log.LogWarning(e, "Could not publish a configuration change");
        }
    }

    public async Task ReloadAsync(CancellationToken ct = default)
    {
        // Serialised, so a reload that starts after a commit always finishes last and sees it.
        await _reloadLock.WaitAsync(ct);
        try
        {
            _current = await LoadAsync(ct);
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await redis.GetSubscriber().SubscribeAsync(keys.ConfigChannel, (_, _) => _ = ReloadQuietlyAsync(stoppingToken));
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await Task.Delay(SafetyReloadInterval, stoppingToken); }
            catch (OperationCanceledException) { break; }
            await ReloadQuietlyAsync(stoppingToken);
        }
    }

    private async Task ReloadQuietlyAsync(CancellationToken ct)
    {
        try
        {
            await ReloadAsync(ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // Keep serving the last good snapshot; PostgreSQL being down must not stop redirects.
            log.LogWarning(e, "Network configuration reload failed; serving the previous snapshot");
        }
    }

    private async Task<NetworkSnapshot> LoadAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        var offers = (await conn.QueryAsync<OfferRow>(OffersSql, transaction: tx)).ToList();
        var goals = (await conn.QueryAsync<GoalRow>(GoalsSql, transaction: tx)).ToLookup(g => g.OfferId);
        var publishers = await conn.QueryAsync<PublisherRow>(PublishersSql, transaction: tx);
        var links = await conn.QueryAsync<LinkRow>(LinksSql, transaction: tx);
        var access = await conn.QueryAsync<AccessRow>(AccessSql, transaction: tx);
        var advertisers = await conn.QueryAsync<AdvertiserRow>(AdvertisersSql, transaction: tx);
        var overrides = await conn.QueryAsync<OverrideRow>(OverridesSql, transaction: tx);
        var rates = await conn.QueryAsync<RateRow>(RatesSql, transaction: tx);
        var smartLinks = await conn.QueryAsync<SmartLinkRow>(SmartLinksSql, transaction: tx);
        await tx.CommitAsync(ct);

        return new NetworkSnapshot(
            offers.ToFrozenDictionary(o => o.Id, o => new OfferConfig(
                // ToAscii: URLs saved before the API stored them in ASCII form would fail every redirect.
                o.Id, o.AdvertiserId, o.Name, o.Status, LandingUrlRules.ToAscii(o.LandingUrl),
                o.FallbackUrl is null ? null : LandingUrlRules.ToAscii(o.FallbackUrl), o.Currency,
                TimeSpan.FromHours(o.AttributionWindowHours), TimeSpan.FromHours(o.HoldPeriodHours),
                o.ManualApproval, o.DefaultGoal,
                new Caps(o.DailyClickCap, o.MonthlyClickCap, o.DailyConversionCap, o.MonthlyConversionCap),
                o.AllowedCountries.ToFrozenSet(StringComparer.OrdinalIgnoreCase),
                goals[o.Id].ToFrozenDictionary(g => g.Code, g => new GoalConfig(
                    g.Code, g.Name, g.PayoutType, g.Payout, g.RevenueType, g.Revenue, g.OncePerClick, g.MaxAmount, g.PixelAmount)),
                o.PixelAutoApprove, o.DeepLinkDomains, o.DeepLinkTemplate)),
            publishers.ToFrozenDictionary(p => p.Id, p => new PublisherConfig(p.Id, p.Status, p.PostbackUrl, p.PostbackPaused)),
            links.ToFrozenDictionary(l => l.Code, l => new LinkConfig(l.Id, l.Code, l.OfferId, l.PublisherId, l.Status), StringComparer.Ordinal),
            access.ToFrozenDictionary(a => (a.OfferId, a.PublisherId),
                a => new Caps(a.DailyClickCap, a.MonthlyClickCap, a.DailyConversionCap, a.MonthlyConversionCap)),
            advertisers.ToFrozenDictionary(a => a.Id, a => new AdvertiserConfig(a.Id, a.Status, a.PostbackTokenHash,
                a.PostbackIps.Select(System.Net.IPAddress.Parse).ToFrozenSet(), a.SigningKeyVersion)),
            overrides.ToFrozenDictionary(o => (o.OfferId, o.PublisherId, o.GoalCode), o => new PayoutOverride(o.PayoutType, o.Payout)),
            rates.ToFrozenDictionary(r => (r.FromCurrency, r.ToCurrency), r => r.Rate),
            smartLinks.ToFrozenDictionary(l => l.Code, l => new SmartLinkConfig(l.Id, l.Code, l.PublisherId, l.Status, LandingUrlRules.ToAscii(l.FallbackUrl),
                SmartLinkRules.Parse(l.Rules)), StringComparer.Ordinal));
    }

    private const string OffersSql = """
        SELECT id, advertiser_id, name, status, landing_url, fallback_url, currency, attribution_window_hours,
               hold_period_hours, manual_approval, default_goal, daily_click_cap, monthly_click_cap,
               daily_conversion_cap, monthly_conversion_cap, allowed_countries, pixel_auto_approve,
               deep_link_domains, deep_link_template
        FROM offers
        """;
    private const string GoalsSql = "SELECT offer_id, code, name, payout_type, payout, revenue_type, revenue, once_per_click, max_amount, pixel_amount FROM goals";
    private const string PublishersSql = "SELECT id, status, postback_url, postback_paused_reason IS NOT NULL AS postback_paused FROM publishers";
    private const string LinksSql = "SELECT id, code, offer_id, publisher_id, status FROM tracking_links";
    private const string AccessSql = """
        SELECT offer_id, publisher_id, daily_click_cap, monthly_click_cap, daily_conversion_cap, monthly_conversion_cap
        FROM offer_access
        """;

    private const string AdvertisersSql = "SELECT id, status, postback_token_hash, array(SELECT host(ip) FROM unnest(postback_ips) ip) AS postback_ips, signing_key_version FROM advertisers";
    private const string OverridesSql = "SELECT offer_id, publisher_id, goal_code, payout_type, payout FROM payout_overrides";
    private const string SmartLinksSql = "SELECT id, code, publisher_id, status, fallback_url, rules::text AS rules FROM smart_links";
    private const string RatesSql = "SELECT from_currency, to_currency, rate FROM currency_rates";

    // Row shapes for Dapper (snake_case columns map to these names).
    private sealed class OfferRow
    {
        public long Id { get; init; }
        public long AdvertiserId { get; init; }
        public string Name { get; init; } = "";
        public string Status { get; init; } = "";
        public string LandingUrl { get; init; } = "";
        public string? FallbackUrl { get; init; }
        public string Currency { get; init; } = "";
        public int AttributionWindowHours { get; init; }
        public int HoldPeriodHours { get; init; }
        public bool ManualApproval { get; init; }
        public string DefaultGoal { get; init; } = "";
        public int? DailyClickCap { get; init; }
        public int? MonthlyClickCap { get; init; }
        public int? DailyConversionCap { get; init; }
        public int? MonthlyConversionCap { get; init; }
        public string[] AllowedCountries { get; init; } = [];
        public bool PixelAutoApprove { get; init; }
        public string[] DeepLinkDomains { get; init; } = [];
        public string? DeepLinkTemplate { get; init; }
    }

    private sealed class SmartLinkRow
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public long PublisherId { get; init; }
        public string Status { get; init; } = "";
        public string FallbackUrl { get; init; } = "";
        public string Rules { get; init; } = "[]";
    }

    private sealed class GoalRow
    {
        public long OfferId { get; init; }
        public string Code { get; init; } = "";
        public string Name { get; init; } = "";
        public string PayoutType { get; init; } = "";
        public decimal Payout { get; init; }
        public string RevenueType { get; init; } = "";
        public decimal Revenue { get; init; }
        public bool OncePerClick { get; init; }
        public decimal? MaxAmount { get; init; }
        public decimal? PixelAmount { get; init; }
    }

    private sealed class PublisherRow
    {
        public long Id { get; init; }
        public string Status { get; init; } = "";
        public string? PostbackUrl { get; init; }
        public bool PostbackPaused { get; init; }
    }

    private sealed class LinkRow
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public long OfferId { get; init; }
        public long PublisherId { get; init; }
        public string Status { get; init; } = "";
    }

    private sealed class AdvertiserRow
    {
        public long Id { get; init; }
        public string Status { get; init; } = "";
        public byte[]? PostbackTokenHash { get; init; }
        public string[] PostbackIps { get; init; } = [];
        public int SigningKeyVersion { get; init; }
    }

    private sealed class OverrideRow
    {
        public long OfferId { get; init; }
        public long PublisherId { get; init; }
        public string GoalCode { get; init; } = "";
        public string PayoutType { get; init; } = "";
        public decimal Payout { get; init; }
    }

    private sealed class RateRow
    {
        public string FromCurrency { get; init; } = "";
        public string ToCurrency { get; init; } = "";
        public decimal Rate { get; init; }
    }

    private sealed class AccessRow
    {
        public long OfferId { get; init; }
        public long PublisherId { get; init; }
        public int? DailyClickCap { get; init; }
        public int? MonthlyClickCap { get; init; }
        public int? DailyConversionCap { get; init; }
        public int? MonthlyConversionCap { get; init; }
    }
}
