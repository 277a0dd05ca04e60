using System.Buffers;

namespace AffiliateTracker.Clicks;

/// Flags clicks from crawlers, link previewers, monitors and HTTP libraries by user-agent substring. Most
/// patterns come from the maintained crawler-user-agents list (BotPatterns.txt, made by
/// deploy/bot-patterns.py); a few that list lacks (previewers of messengers, HTTP libraries, load tools) are
/// added here. SearchValues matches all of them in one vectorised pass, cheap enough to run before the
/// redirect so a bot click is never attributable.
public static class BotDetector
{
    private static readonly string[] OwnPatterns =
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

    /// Every pattern, lower case: the generated list and our own.
    public static readonly IReadOnlyList<string> Patterns = GeneratedPatterns().Concat(OwnPatterns).Distinct().ToArray();

    private static readonly SearchValues<string> Matcher = SearchValues.Create(Patterns.ToArray(), StringComparison.OrdinalIgnoreCase);

    // One pattern a line, spaces included (" crawler" is not "crawler"); '#' starts a comment line.
    private static IEnumerable<string> GeneratedPatterns()
    {
        using var stream = typeof(BotDetector).Assembly.GetManifestResourceStream("BotPatterns.txt")
            ?? throw new InvalidOperationException("BotPatterns.txt is not embedded");
        using var reader = new StreamReader(stream);
        var patterns = new List<string>();
        while (reader.ReadLine() is { } line)
            if (line.Length > 0 && !line.StartsWith('#')) patterns.Add(line);
        return patterns;
    }

    /// A missing or empty user agent is a script, not a browser.
    public static bool IsBot(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent)) return true;
        // Browsers send few distinct user agents: the answer for one is remembered (a hash lookup instead of
        // the ~0.8 µs scan), in a map emptied when full so a flood of made-up agents cannot grow it.
        if (Known.TryGetValue(userAgent, out var bot)) return bot;
        bot = Scan(userAgent);
        if (Volatile.Read(ref _knownCount) >= MaxKnown)
        {
            Known.Clear();
            Volatile.Write(ref _knownCount, 0);
        }
        if (Known.TryAdd(userAgent, bot)) Interlocked.Increment(ref _knownCount);
        return bot;
    }

    /// The pattern scan alone, without the memo of agents seen before.
    internal static bool Scan(string userAgent) => userAgent.AsSpan().IndexOfAny(Matcher) >= 0;

    private const int MaxKnown = 10_000;
    private static int _knownCount;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Known = new(StringComparer.Ordinal);
}
