using System.Net;
using AffiliateTracker.Clicks;
using AffiliateTracker.Storage;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace AffiliateTracker.Benchmarks;

/// What the click flusher spends per click on traffic details, on a batch of 1,000 clicks from 50 real user agents
/// (the flusher's answer per user agent is remembered, as in production where traffic repeats): the flusher's
/// work before this (decoding the stream batch and the country lookup, the baseline) against after (the same plus
/// device, OS, browser and network), and a user agent never seen before (uap-core's expressions scanned in order).
/// Run: bash deploy/geo.sh && bash deploy/traffic-data.sh && dotnet run -c Release --project benchmarks/AffiliateTracker.Benchmarks -- --filter '*Traffic*'
[MemoryDiagnoser]
public class TrafficBenchmarks
{
    private readonly VisitorCountry _countries;
    private readonly TrafficClassifier _traffic;
    private readonly byte[] _batch;
    private readonly string[] _agents;
    private int _fresh;

    public TrafficBenchmarks()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root.Parent is not null && !File.Exists(Path.Combine(root.FullName, "AffiliateTracker.sln"))) root = root.Parent;
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Geo:CountryDatabase"] = Environment.GetEnvironmentVariable("Geo__CountryDatabase") ?? Path.Combine(root.FullName, ".data/geo/geo-whois-asn-country.mmdb"),
            ["Traffic:DataDirectory"] = Environment.GetEnvironmentVariable("Traffic__DataDirectory") ?? Path.Combine(root.FullName, ".data/traffic"),
        }).Build();
        _countries = new VisitorCountry(config, NullLogger<VisitorCountry>.Instance);
        _traffic = TrafficClassifier.FromConfiguration(config, NullLogger.Instance);
        _agents = File.ReadLines(Path.Combine(root.FullName, "tests/AffiliateTracker.Tests/UserAgents/traffic-corpus.tsv"))
            .Where(l => !l.StartsWith('#')).Select(l => l.Split('\t')[0]).Take(50).ToArray();
        string[] addresses = ["80.128.0.1", "8.8.8.8", "93.184.216.34", "52.95.110.1", "188.165.1.1", "2a00:1450:4001:81a::200e", "77.88.8.8", "41.0.0.1"];
        var now = DateTimeOffset.UtcNow;
        _batch = ClickCodec.EncodeBatch(Enumerable.Range(0, 1000).Select(i => new ClickRecord(Ulid.New(now), now, 1 + i % 5, 1 + i % 7, 1, $"p{i % 20}",
            null, null, null, null, null, addresses[i % addresses.Length], _agents[i % _agents.Length], null, null, false)).ToList());
        Flusher_after();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = 1000)]
    public int Flusher_before()
    {
        var n = 0;
        foreach (var c in ClickCodec.DecodeBatch(_batch))
        {
            var country = c.Country ?? (IPAddress.TryParse(c.Ip, out var ip) ? _countries.Lookup(ip) : null);
            n += (c with { Country = country }).Country?.Length ?? 0;
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public int Flusher_after()
    {
        var n = 0;
        foreach (var c in ClickCodec.DecodeBatch(_batch))
        {
            var country = c.Country ?? (IPAddress.TryParse(c.Ip, out var ip) ? _countries.Lookup(ip) : null);
            n += (c with { Country = country, Traffic = _traffic.Classify(c.UserAgent, c.Ip, c.IsBot) }).Traffic!.DeviceType.Length;
        }
        return n;
    }

    /// A user agent the flusher has not seen: uap-core's expressions run (the answer is then remembered).
    [Benchmark]
    public string? New_user_agent() => _traffic.Agents.Parse(_agents[_fresh++ % _agents.Length] + " build/" + _fresh).Browser;

    /// A flood of made-up user agents past TrafficClassifier.MaxParsesPerSecond: device type only.
    [Benchmark]
    public string Flood_past_the_budget() => _traffic.Classify(_agents[_fresh++ % _agents.Length] + " flood/" + _fresh, null, false).DeviceType;
}
