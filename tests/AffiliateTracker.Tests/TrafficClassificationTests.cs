using System.Net;
using AffiliateTracker.Clicks;
using Xunit.Abstractions;

namespace AffiliateTracker.Tests;

/// Device type, OS and browser from real user agents, and networks from addresses, against the data
/// deploy/traffic-data.sh fetches (deploy/test.sh points Traffic__DataDirectory at it).
public sealed class TrafficClassificationTests(ITestOutputHelper output)
{
    private static readonly Lazy<TrafficClassifier> Classifier = new(() =>
    {
        var dir = Environment.GetEnvironmentVariable("Traffic__DataDirectory") ?? "";
        Assert.True(File.Exists(Path.Combine(dir, "regexes.yaml")) && File.Exists(Path.Combine(dir, "asn-ipv4-num.csv")),
            "No traffic data: deploy/test.sh fetches it with deploy/traffic-data.sh (Traffic__DataDirectory).");
        using var yaml = File.OpenText(Path.Combine(dir, "regexes.yaml"));
        using var v4 = File.OpenText(Path.Combine(dir, "asn-ipv4-num.csv"));
        using var v6 = File.OpenText(Path.Combine(dir, "asn-ipv6.csv"));
        return new TrafficClassifier(UserAgentParser.Load(yaml), NetworkLookup.Load(v4, v6));
    });

    private static IEnumerable<(string Ua, string Device, string Platform)> Corpus() =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "UserAgents", "traffic-corpus.tsv"))
            .Where(l => !l.StartsWith('#')).Select(l => l.Split('\t')).Select(f => (f[0], f[1], f[2]));

    // What navigator.platform says the OS is, where it says so unambiguously.
    private static string? OsOfPlatform(string platform, string ua) => platform switch
    {
        "iPhone" or "iPad" => "iOS",
        "MacIntel" when !ua.Contains("iPhone") && !ua.Contains("iPad") => "macOS",
        "Win32" => "Windows",
        _ when platform.StartsWith("Linux arm") || platform == "Linux aarch64" => ua.Contains("Android") ? "Android" : null,
        _ => null,
    };

    [Fact]
    public void Device_type_and_os_of_a_corpus_of_real_browsers_match_what_the_browsers_reported()
    {
        var corpus = Corpus().ToList();
        int deviceRight = 0, osKnown = 0, osRight = 0;
        var misses = new List<string>();
        foreach (var (ua, device, platform) in corpus)
        {
            var t = Classifier.Value.Classify(ua, null, isBot: false);
            if (t.DeviceType == device) deviceRight++; else if (misses.Count < 10) misses.Add($"device {t.DeviceType} (reported {device}): {ua}");
            if (OsOfPlatform(platform, ua) is not { } os) continue;
            osKnown++;
            if (t.Os == os) osRight++; else if (misses.Count < 10) misses.Add($"os {t.Os} (platform {platform}): {ua}");
        }
        output.WriteLine($"corpus: {corpus.Count} user agents; device type right {deviceRight} ({100.0 * deviceRight / corpus.Count:0.0}%); " +
            $"OS right {osRight} of {osKnown} with an unambiguous platform ({100.0 * osRight / osKnown:0.0}%)");
        foreach (var m in misses) output.WriteLine(m);
        Assert.True(deviceRight >= corpus.Count * 0.97, $"device type right for only {deviceRight} of {corpus.Count}");
        Assert.True(osRight >= osKnown * 0.98, $"OS right for only {osRight} of {osKnown}");
    }

    [Theory]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "desktop", "Windows", "10", "Chrome")]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "desktop", "Windows", "10", "Edge")]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0", "desktop", "macOS", "10", "Firefox")]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "desktop", "macOS", "10", "Safari")]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "mobile", "iOS", "18", "Mobile Safari")]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "mobile", "iOS", "17", "Chrome Mobile iOS")]
    [InlineData("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "tablet", "iOS", "16", "Mobile Safari")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36", "mobile", "Android", "14", "Chrome Mobile")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "mobile", "Android", "14", "Samsung Internet")]
    [InlineData("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "tablet", "Android", "13", "Chrome")]
    [InlineData("Mozilla/5.0 (Linux; Android 12; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 YaBrowser/24.1.1.85.00 SA/3 Mobile Safari/537.36", "mobile", "Android", "12", "Yandex Browser")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; SM-A546B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/490.0.0.51.68;]", "mobile", "Android", "14", "Facebook")]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "desktop", "Linux", null, "Firefox")]
    [InlineData("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "desktop", "Chrome OS", "14541", "Chrome")]
    [InlineData("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36", "tv", "Tizen", "6", "Samsung Internet")]
    [InlineData("Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15", "console", null, null, "Safari")]
    public void Known_user_agents_get_their_device_os_and_browser(string ua, string device, string? os, string? osVersion, string? browser)
    {
        var t = Classifier.Value.Classify(ua, null, isBot: false);
        Assert.Equal((device, os, osVersion, browser), (t.DeviceType, t.Os, t.OsVersion, t.Browser));
    }

    [Fact]
    public void A_crawler_is_a_bot_whatever_its_user_agent_claims() =>
        Assert.Equal("bot", Classifier.Value.Classify("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", null, isBot: true).DeviceType);

    [Theory]
    [InlineData("8.8.8.8", 15169, true)]                 // Google
    [InlineData("52.95.110.1", 16509, true)]             // Amazon (AWS)
    [InlineData("159.89.0.1", 14061, true)]              // DigitalOcean
    [InlineData("80.128.0.1", 3320, false)]              // Deutsche Telekom, a consumer ISP
    [InlineData("2001:4860:4860::8888", 15169, true)]    // Google over IPv6
    [InlineData("::ffff:80.128.0.1", 3320, false)]       // IPv4 mapped into IPv6
    public void Networks_are_found_by_address_with_their_hosting_flag(string address, int asn, bool hosting)
    {
        var t = Classifier.Value.Classify(null, address, isBot: false);
        Assert.Equal((asn, hosting), (t.Asn, t.IsDatacenter));
    }

    [Fact]
    public void An_address_in_no_range_has_no_network_and_is_not_a_datacenter()
    {
        var t = Classifier.Value.Classify(null, "10.1.2.3", isBot: false);
        Assert.Equal(((int?)null, (bool?)false), (t.Asn, t.IsDatacenter));
    }
}
