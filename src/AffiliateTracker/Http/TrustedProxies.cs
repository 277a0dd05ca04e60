using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace AffiliateTracker.Http;

/// Behind a load balancer or TLS terminator the client's address and scheme arrive in X-Forwarded-For and
/// X-Forwarded-Proto. They are believed only from the proxies listed in Proxies:Trusted (addresses or CIDR
/// networks), since anyone else could claim any address or HTTPS. None are listed by default, and then the
/// headers are ignored and the middleware is not even added. The same list decides who may tell the visitor's country.
public static class TrustedProxies
{
    public static IServiceCollection AddTrustedProxies(this IServiceCollection services, IConfiguration config)
    {
        var (proxies, networks) = Parse(Entries(config.GetSection("Proxies:Trusted")), "Proxies:Trusted");
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The framework trusts loopback by default; only what is configured counts here.
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var p in proxies) o.KnownProxies.Add(p);
            foreach (var n in networks) o.KnownIPNetworks.Add(n);
            // Walk X-Forwarded-For from the right while the hop is trusted (CDN → load balancer → us);
            // the first untrusted address is the client, whatever it wrote further left.
            o.ForwardLimit = null;
        });
        services.AddSingleton(new Configured(proxies, networks));
        return services;
    }

    /// Goes first in the pipeline, so the click recorder, cookies, rate limits and postback IP lists see the client.
    /// Headers in which a proxy tells the visitor's country (CF-IPCountry) are dropped first unless the peer is a
    /// trusted proxy: anyone else could claim to be in any country an offer is sold in.
    public static void UseTrustedProxies(this WebApplication app)
    {
        var configured = app.Services.GetRequiredService<Configured>();
        app.Use((http, next) =>
        {
            var headers = http.Request.Headers;
            if (headers.ContainsKey(CountryHeader) && !configured.Trusts(http.Connection.RemoteIpAddress)) headers.Remove(CountryHeader);
            return next(http);
        });
        if (configured.Any) app.UseForwardedHeaders();
    }

    private const string CountryHeader = "CF-IPCountry";

    // A list (Proxies__Trusted__0=...) or one comma-separated value (Proxies__Trusted=10.0.0.0/8,192.0.2.1).
    public static IEnumerable<string> Entries(IConfigurationSection section) =>
        (section.Value?.Split(',') ?? []).Concat(section.GetChildren().Select(c => c.Value ?? ""))
            .Select(e => e.Trim()).Where(e => e.Length > 0);

    /// Refuses to start on an entry that is neither an address nor a network, rather than silently trusting less.
    public static (List<IPAddress> Proxies, List<System.Net.IPNetwork> Networks) Parse(IEnumerable<string> entries, string setting)
    {
        var proxies = new List<IPAddress>();
        var networks = new List<System.Net.IPNetwork>();
        foreach (var e in entries)
        {
            if (e.Contains('/') && System.Net.IPNetwork.TryParse(e, out var network)) networks.Add(network);
            else if (!e.Contains('/') && IPAddress.TryParse(e, out var ip)) proxies.Add(ip);
            else throw new InvalidOperationException($"{setting}: '{e}' is not an IP address or a CIDR network such as 10.0.0.0/8.");
        }
        return (proxies, networks);
    }

    private sealed record Configured(List<IPAddress> Proxies, List<System.Net.IPNetwork> Networks)
    {
        public bool Any => Proxies.Count + Networks.Count > 0;

        public bool Trusts(IPAddress? peer)
        {
            if (peer is null || !Any) return false;
            if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
            return Proxies.Contains(peer) || Networks.Exists(n => n.Contains(peer));
        }
    }
}
