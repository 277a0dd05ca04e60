using System.Net;
using AffiliateTracker.Http;

namespace AffiliateTracker.Observability;

/// Who may read /metrics (`Metrics:AllowFrom`: addresses or CIDR networks; loopback by default). Metrics tell
/// traffic volumes and error rates, which are the network's business; Prometheus scrapes from a listed address.
public sealed class MetricsAccess(IReadOnlyList<IPAddress> addresses, IReadOnlyList<System.Net.IPNetwork> networks)
{
    public static MetricsAccess From(IConfiguration config)
    {
        var entries = TrustedProxies.Entries(config.GetSection("Metrics:AllowFrom")).ToList();
        if (entries.Count == 0) entries = ["127.0.0.0/8", "::1"];
        var (addresses, networks) = TrustedProxies.Parse(entries, "Metrics:AllowFrom");
        return new MetricsAccess(addresses, networks);
    }

    public bool Allows(IPAddress? remote)
    {
        if (remote is null) return false;
        if (remote.IsIPv4MappedToIPv6) remote = remote.MapToIPv4();
        return addresses.Contains(remote) || networks.Any(n => n.Contains(remote));
    }
}
