using System.Collections.Concurrent;
using System.Net;

namespace AffiliateTracker.Clicks;

/// What a click's traffic is: device type, OS and its major version, browser, network (ASN) and whether that
/// network hosts servers. Worked out in the click flusher, after the 302, never before it.
public sealed record TrafficDetails(string DeviceType, string? Os, string? OsVersion, string? Browser, int? Asn, bool? IsDatacenter)
{
    public static readonly string[] DeviceTypes = ["desktop", "mobile", "tablet", "tv", "console", "bot"];
}

/// Classifies clicks: the browser and OS by uap-core's expressions (UserAgentParser), the device type by this
/// server's own rules (uap-core has none), the network by ip-location-db's ranges (NetworkLookup). A user agent
/// is parsed once and remembered: traffic repeats the same few thousand.
public sealed class TrafficClassifier
{
    private const int MaxRemembered = 200_000;
    /// A user agent never seen costs about 0.2 ms of expressions; beyond this many a second (a flood of made-up
    /// ones) the rest get their device type only, unremembered, so the flusher keeps up.
    public const int MaxParsesPerSecond = 2_000;
    private long _window;
    private int _parsedInWindow;
    private readonly UserAgentParser _agents;
    private readonly ConcurrentDictionary<string, (string Device, string? Os, string? OsVersion, string? Browser)> _seen = new(StringComparer.Ordinal);

    public NetworkLookup Networks { get; }
    public UserAgentParser Agents => _agents;

    public TrafficClassifier(UserAgentParser agents, NetworkLookup networks) => (_agents, Networks) = (agents, networks);

    /// From `Traffic:DataDirectory` (deploy/traffic-data.sh): regexes.yaml, asn-ipv4-num.csv and asn-ipv6.csv.
    /// Missing files leave those details unknown, and the start says so.
    public static TrafficClassifier FromConfiguration(IConfiguration config, ILogger log)
    {
        var dir = config["Traffic:DataDirectory"] ?? "";
        var agents = UserAgentParser.Empty;
        var networks = NetworkLookup.Empty;
        var yaml = Path.Combine(dir, "regexes.yaml");
        if (dir.Length > 0 && File.Exists(yaml))
            using (var reader = File.OpenText(yaml)) agents = UserAgentParser.Load(reader);
        var v4 = Path.Combine(dir, "asn-ipv4-num.csv");
        if (dir.Length > 0 && File.Exists(v4))
        {
            using var r4 = File.OpenText(v4);
            var v6Path = Path.Combine(dir, "asn-ipv6.csv");
            using var r6 = File.Exists(v6Path) ? File.OpenText(v6Path) : null;
            networks = NetworkLookup.Load(r4, r6);
        }
        if (agents.Expressions == 0 || networks.Ranges == 0)
            log.LogWarning("Traffic data incomplete in {Directory} (Traffic:DataDirectory; deploy/traffic-data.sh fetches it): " +
                "{Expressions} user-agent expressions, {Ranges} network ranges; clicks carry no browser, OS or network where it is missing",
                dir, agents.Expressions, networks.Ranges);
        else
            log.LogInformation("Traffic data: {Expressions} user-agent expressions, {Ranges} network ranges", agents.Expressions, networks.Ranges);
        return new TrafficClassifier(agents, networks);
    }

    public TrafficDetails Classify(string? userAgent, string? ip, bool isBot)
    {
        var ua = userAgent ?? "";
        if (!_seen.TryGetValue(ua, out var agent))
        {
            if (TakeParse())
            {
                var (browser, os, osVersion) = ua.Length == 0 ? (null, null, null) : _agents.Parse(ua);
                agent = (DeviceType(ua), Os(os), osVersion, browser is "Other" ? null : browser);
                if (_seen.Count >= MaxRemembered) _seen.Clear();
                _seen[ua] = agent;
            }
            else agent = (DeviceType(ua), null, null, null);
        }
        var network = ip is not null && IPAddress.TryParse(ip, out var address) ? Networks.Lookup(address) : null;
        return new TrafficDetails(isBot ? "bot" : agent.Device, agent.Os, agent.OsVersion, agent.Browser, network?.Asn,
            network?.IsHosting ?? (Networks.Ranges > 0 ? false : null));
    }

    private bool TakeParse()
    {
        var second = Environment.TickCount64 / 1000;
        if (Interlocked.Exchange(ref _window, second) != second) Interlocked.Exchange(ref _parsedInWindow, 0);
        return Interlocked.Increment(ref _parsedInWindow) <= MaxParsesPerSecond;
    }

    // uap-core's names, with Apple's current one for the Mac and "Other" as unknown.
    private static string? Os(string? family) => family switch { null or "Other" => null, "Mac OS X" => "macOS", _ => family };

    /// Desktop, mobile, tablet, TV or console, from the tokens devices put in their user agents. Bots are told by
    /// BotDetector before this. Order matters: TVs and consoles run Android or Linux, tablets say Android without
    /// "Mobile", and iPads since iPadOS 13 present themselves as Macs (counted as desktops, as every parser must).
    public static string DeviceType(string ua)
    {
        if (ua.Length == 0) return "desktop";
        if (Has(ua, "PlayStation") || Has(ua, "Xbox") || Has(ua, "Nintendo")) return "console";
        if (Has(ua, "SmartTV") || Has(ua, "SMART-TV") || Has(ua, "Smart TV") || Has(ua, "HbbTV") || Has(ua, "NetCast") || Has(ua, "BRAVIA")
            || Has(ua, "AppleTV") || Has(ua, "Apple TV") || Has(ua, "CrKey") || Has(ua, "Roku") || Has(ua, "GoogleTV") || Has(ua, "Android TV")
            || Has(ua, "AndroidTV") || Has(ua, "Web0S") || (Has(ua, "Tizen") && Has(ua, "TV")) || Has(ua, "; AFT") || Has(ua, "Opera TV")
            || Has(ua, "DTV") || Has(ua, "VIERA")) return "tv";
        if (Has(ua, "iPad") || Has(ua, "Tablet") || Has(ua, "Kindle") || Has(ua, "PlayBook") || (Has(ua, "Silk") && !Has(ua, "Mobile"))
            || (Has(ua, "Android") && !Has(ua, "Mobile") && !Has(ua, "Mobi"))) return "tablet";
        if (Has(ua, "iPhone") || Has(ua, "iPod") || Has(ua, "Android") || Has(ua, "Mobile") || Has(ua, "Mobi") || Has(ua, "Windows Phone")
            || Has(ua, "BlackBerry") || Has(ua, "BB10") || Has(ua, "Opera Mini") || Has(ua, "KAIOS") || Has(ua, "KaiOS")) return "mobile";
        return "desktop";
    }

    private static bool Has(string ua, string token) => ua.Contains(token, StringComparison.Ordinal);
}
