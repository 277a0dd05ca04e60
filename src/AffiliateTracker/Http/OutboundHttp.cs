using System.Net;
using System.Net.Sockets;

namespace AffiliateTracker.Http;

/// The HTTP handler for calls to addresses someone outside gave us (publisher postback URLs, product feed URLs):
/// connections to loopback, private, link-local and similar addresses are refused unless allowed, so such a URL
/// cannot become a way into the tracker's own network. Redirects are not followed (each hop would need the check).
public static class OutboundHttp
{
    public static SocketsHttpHandler CreateHandler(bool allowPrivateAddresses) => new()
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = async (context, ct) =>
        {
            var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, ct);
            var target = addresses.FirstOrDefault(a => allowPrivateAddresses || !IsPrivate(a))
                ?? throw new HttpRequestException($"{context.DnsEndPoint.Host} resolves only to private addresses; refused");
            var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(target, context.DnsEndPoint.Port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    public static bool IsPrivate(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (IPAddress.IsLoopback(ip) || ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6UniqueLocal) return true;
        if (ip.AddressFamily != AddressFamily.InterNetwork) return ip.Equals(IPAddress.IPv6Any);
        var b = ip.GetAddressBytes();
        return b[0] is 10 or 127 or 0 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }
}
