using System.Buffers;

namespace AffiliateTracker.Clicks;

/// Flags clicks from crawlers, link previewers, monitors and HTTP libraries by user-agent substring.
/// The list lives here, in the repository, with tests. SearchValues matches all patterns in one vectorised
/// pass (well under a microsecond), cheap enough to run before the redirect so a bot click is never
/// attributable. (With the full NuGet feed, a maintained parser such as UAParser could replace this.)
public static class BotDetector
{
    private static readonly string[] Patterns =
    [
        "bot", "crawl", "spider", "slurp", "scrap", "preview", "monitor", "headless", "phantomjs", "lighthouse",
        "facebookexternalhit", "facebookcatalog", "whatsapp", "telegram", "discord", "skypeuripreview",
        "embedly", "pinterest", "bitlybot", "vkshare", "quora link", "outbrain", "flipboard", "tumblr",
        "curl/", "wget/", "python-requests", "python-urllib", "aiohttp", "httpx", "go-http-client", "java/",
        "okhttp", "apache-httpclient", "libwww-perl", "node-fetch", "axios/", "postmanruntime", "insomnia",
        "httpclient", "guzzlehttp", "ruby", "scrapy", "wrk", "apachebench", "pingdom", "uptimerobot",
        "statuscake", "site24x7", "datadog", "newrelicpinger", "google-inspectiontool", "mediapartners-google",
        "adsbot", "feedfetcher", "yandex", "baiduspider", "bingpreview", "duckduckgo", "petalbot", "semrush",
        "ahrefs", "mj12", "dotbot", "seznam", "gptbot", "chatgpt-user", "claudebot", "ccbot", "bytespider",
        "amazonbot", "applebot", "perplexity",
    ];

    private static readonly SearchValues<string> Matcher = SearchValues.Create(Patterns, StringComparison.OrdinalIgnoreCase);

    /// A missing or empty user agent is a script, not a browser.
    public static bool IsBot(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent)) return true;
        // Browsers send few distinct user agents: the answer for one is remembered (a hash lookup instead of
        // the ~0.8 µs scan), in a map emptied when full so a flood of made-up agents cannot grow it.
        if (Known.TryGetValue(userAgent, out var bot)) return bot;
        bot = userAgent.AsSpan().IndexOfAny(Matcher) >= 0;
        if (Volatile.Read(ref _knownCount) >= MaxKnown)
        {
            Known.Clear();
            Volatile.Write(ref _knownCount, 0);
        }
        if (Known.TryAdd(userAgent, bot)) Interlocked.Increment(ref _knownCount);
        return bot;
    }

    private const int MaxKnown = 10_000;
    private static int _knownCount;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Known = new(StringComparer.Ordinal);
}
