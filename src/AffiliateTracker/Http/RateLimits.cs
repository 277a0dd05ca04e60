using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace AffiliateTracker.Http;

/// Requests per fixed window; 0 turns a limit off.
public sealed class RateLimitOptions
{
    /// Management API calls per API key per minute.
    public int ManagementPerKeyPerMinute { get; set; } = 600;

    /// Management API calls without a valid key (missing, unknown, revoked) per client address per minute:
    /// what someone guessing keys gets.
    public int ManagementPerIpPerMinute { get; set; } = 60;

    /// Postbacks per client address per second. One advertiser's server legitimately sends thousands a
    /// second (a backfill, a batch of status changes), so this only stops a runaway or hostile sender.
    public int PostbackPerIpPerSecond { get; set; } = 20_000;
}

/// Rate limits with ASP.NET Core's limiter: the management API per key (per address without a valid key),
/// postbacks per address (taken by PostbackReceiver itself, which answers before the limiter middleware runs).
/// Click redirects and the pixel carry no limit. Over a limit: 429, Retry-After, and the JSON error.
public static class RateLimits
{
    public const string Management = "management";
    public const string Postback = "postback";

    public static IServiceCollection AddRateLimits(this IServiceCollection services, IConfiguration config)
    {
        services.AddOptions<RateLimitOptions>().Bind(config.GetSection("RateLimits"))
            .Validate(o => o.ManagementPerKeyPerMinute >= 0 && o.ManagementPerIpPerMinute >= 0 && o.PostbackPerIpPerSecond >= 0,
                "RateLimits: ManagementPerKeyPerMinute, ManagementPerIpPerMinute and PostbackPerIpPerSecond must be 0 (no limit) or positive.")
            .ValidateOnStart();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = (context, cancel) => new ValueTask(RejectAsync(context.HttpContext, context.Lease, cancel));
            o.AddPolicy<(string? Key, IPAddress? Ip), ManagementPolicy>(Management);
        });
        // Postbacks per client address: the partition key is the connection's address object itself.
        services.AddKeyedSingleton(Postback, (sp, _) =>
        {
            var perSecond = sp.GetRequiredService<IOptions<RateLimitOptions>>().Value.PostbackPerIpPerSecond;
            Func<IPAddress, RateLimiter> create = _ => Window(perSecond, TimeSpan.FromSeconds(1));
            return PartitionedRateLimiter.Create<IPAddress, IPAddress>(ip => perSecond > 0
                ? RateLimitPartition.Get(ip, create)
                : RateLimitPartition.GetNoLimiter(IPAddress.None));
        });
        return services;
    }

    /// The answer over a limit: 429, Retry-After, and the JSON error.
    public static Task RejectAsync(HttpContext http, RateLimitLease lease, CancellationToken cancel)
    {
        var seconds = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return http.Response.WriteAsJsonAsync(new ErrorBody("rate_limited", $"Too many requests; retry after {seconds} second{(seconds == 1 ? "" : "s")}."), cancel);
    }

    private static RateLimiter Window(int permits, TimeSpan window) => new FixedWindowRateLimiter(new FixedWindowRateLimiterOptions
    {
        PermitLimit = permits,
        Window = window,
        QueueLimit = 0,
        // The partitioned limiter replenishes all its windows from one timer.
        AutoReplenishment = false,
    });

    /// A valid key counts against itself wherever it calls from; everything else against the caller's address.
    private sealed class ManagementPolicy : IRateLimiterPolicy<(string? Key, IPAddress? Ip)>
    {
        private static readonly RateLimitPartition<(string? Key, IPAddress? Ip)> Off = RateLimitPartition.GetNoLimiter<(string?, IPAddress?)>((null, null));
        private readonly int _perKey, _perIp;
        private readonly Func<(string? Key, IPAddress? Ip), RateLimiter> _create;

        public ManagementPolicy(IOptions<RateLimitOptions> options)
        {
            (_perKey, _perIp) = (options.Value.ManagementPerKeyPerMinute, options.Value.ManagementPerIpPerMinute);
            _create = k => Window(k.Key is null ? _perIp : _perKey, TimeSpan.FromMinutes(1));
        }

        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => null;

        public RateLimitPartition<(string? Key, IPAddress? Ip)> GetPartition(HttpContext http) =>
            http.User.FindFirstValue("key_id") is { } key
                ? _perKey > 0 ? new((key, null), _create) : Off
                : _perIp > 0 ? new((null, http.Connection.RemoteIpAddress ?? IPAddress.None), _create) : Off;
    }
}
