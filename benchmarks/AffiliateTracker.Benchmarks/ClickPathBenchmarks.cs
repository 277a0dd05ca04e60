using AffiliateTracker.Storage;
using AffiliateTracker.Clicks;
using BenchmarkDotNet.Attributes;

namespace AffiliateTracker.Benchmarks;

/// The pure functions every redirect runs. Run: dotnet run -c Release --project benchmarks/AffiliateTracker.Benchmarks -- --filter '*ClickPath*'
[MemoryDiagnoser]
public class ClickPathBenchmarks
{
    private const string Template = "https://shop.example/land?cid={click_id}&o={offer_id}&a={aff_id}&s1={sub1}&s2={sub2}&src={source}";
    private const string BrowserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36";
    private readonly ClickRecord _click = new(Ulid.New(DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, 12, 34, 56,
        "spring sale & more", "post-17", null, null, null, "fb", "203.0.113.9", BrowserAgent, "https://blog.example/post", "US", false);
    private readonly ClickRecord[] _batch;
    private readonly byte[] _encodedBatch;
    private readonly Microsoft.AspNetCore.Http.DefaultHttpContext _withCookie = new();

    public ClickPathBenchmarks()
    {
        _batch = Enumerable.Range(0, 256).Select(i => _click with { Sub2 = $"post-{i}" }).ToArray();
        _encodedBatch = ClickCodec.EncodeBatch(_batch);
        _withCookie.Request.Headers.Cookie = $"_ga=GA1.2.3.4; atc_12={_click.ClickId}; theme=dark";
    }

    [Benchmark] public string NewClickId() => Ulid.New(DateTimeOffset.UtcNow);
    [Benchmark] public string ExpandLandingUrl() => LandingUrl.Expand(Template, _click);
    [Benchmark] public bool BotCheckBrowser() => BotDetector.IsBot(BrowserAgent);
    [Benchmark] public byte[] EncodeCompactRecord() => ClickCodec.Encode(_click, compact: true);
    [Benchmark] public byte[] EncodeBatchOf256() => ClickCodec.EncodeBatch(_batch);
    [Benchmark] public int DecodeBatchOf256() => ClickCodec.DecodeBatch(_encodedBatch).Count;

    /// The Set-Cookie header of a redirect (a fresh DefaultHttpContext each time, included in the figure).
    [Benchmark]
    public string SetClickCookie()
    {
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        ClickCookie.Set(http, 12, _click.ClickId, TimeSpan.FromDays(30));
        return http.Response.Headers.SetCookie.ToString();
    }

    [Benchmark] public string? ReadClickCookie() => ClickCookie.Read(_withCookie, 12);
}
