using System.Net;
using AffiliateTracker.Clicks;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace AffiliateTracker.Benchmarks;

/// What the redirect may spend on the visitor: the country of an address (only for offers sold in some
/// countries; MaxMind DB reader over deploy/geo.sh's file) and the bot scan of a user agent seen for the
/// first time (the generated crawler list plus our own patterns). Reference: parsing the address.
/// Run: bash deploy/geo.sh && dotnet run -c Release --project benchmarks/AffiliateTracker.Benchmarks -- --filter '*Visitor*'
[MemoryDiagnoser]
public class VisitorBenchmarks
{
    private static readonly string[] Addresses = ["80.128.0.1", "8.8.8.8", "193.0.0.1", "2a00:1450:4001:81a::200e", "203.0.113.9", "1.1.1.1", "77.88.8.8", "41.0.0.1"];
    private readonly IPAddress[] _parsed = Addresses.Select(IPAddress.Parse).ToArray();
    private readonly VisitorCountry _countries;
    private const string Browser = "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36";
    private const string Crawler = "Mozilla/5.0 (compatible; SemanticScholarBot/1.0; +http://aiweb.cs.washington.edu/research/projects/aiweb/main.html)";
    private int _next;

    public VisitorBenchmarks()
    {
        // BenchmarkDotNet runs this from a generated project below bin/: the repository is where the solution is.
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root.Parent is not null && !File.Exists(Path.Combine(root.FullName, "AffiliateTracker.sln"))) root = root.Parent;
        var path = Environment.GetEnvironmentVariable("Geo__CountryDatabase") ?? Path.Combine(root.FullName, ".data/geo/geo-whois-asn-country.mmdb");
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Geo:CountryDatabase"] = path }).Build();
        _countries = new VisitorCountry(config, NullLogger<VisitorCountry>.Instance);
        if (!_countries.HasDatabase) throw new InvalidOperationException($"No country database at {path}: run deploy/geo.sh");
    }

    private int Next() => _next = (_next + 1) % Addresses.Length;

    [Benchmark(Baseline = true)] public IPAddress ParseAddress() => IPAddress.Parse(Addresses[Next()]);
    [Benchmark] public string? CountryOfAddress() => _countries.Lookup(_parsed[Next()]);
    [Benchmark] public bool BotScanBrowser() => BotDetector.Scan(Browser);
    [Benchmark] public bool BotScanCrawler() => BotDetector.Scan(Crawler);
}
