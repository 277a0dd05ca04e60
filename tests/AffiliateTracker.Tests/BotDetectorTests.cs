using AffiliateTracker.Clicks;

namespace AffiliateTracker.Tests;

public sealed class BotDetectorTests
{
    [Theory]
    [InlineData("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")]
    [InlineData("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")]
    [InlineData("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)")]
    [InlineData("Twitterbot/1.0")]
    [InlineData("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")]
    [InlineData("WhatsApp/2.23.20.0")]
    [InlineData("curl/8.5.0")]
    [InlineData("python-requests/2.31.0")]
    [InlineData("Go-http-client/1.1")]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36")]
    [InlineData("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void Crawlers_previewers_scripts_and_empty_agents_are_bots(string? ua) => Assert.True(BotDetector.IsBot(ua));

    [Theory]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36")]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36")]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15")]
    public void Real_browsers_are_not_bots(string ua) => Assert.False(BotDetector.IsBot(ua));

    // The corpora deploy/bot-patterns.py writes: crawler-user-agents' own samples, and the most common browsers.
    private static string[] Corpus(string name) => File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "UserAgents", name))
        .Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();

    [Fact]
    public void At_least_95_percent_of_the_crawler_lists_own_samples_are_recognised()
    {
        var samples = Corpus("crawlers.txt");
        var missed = samples.Where(s => !BotDetector.IsBot(s)).ToList();

        Assert.True(samples.Length > 2000, $"only {samples.Length} samples");
        Assert.True(missed.Count <= samples.Length * 0.05, $"{missed.Count} of {samples.Length} missed, e.g. {string.Join(" | ", missed.Take(5))}");
    }

    [Fact]
    public void No_common_browser_is_taken_for_a_bot()
    {
        var browsers = Corpus("browsers.txt");

        Assert.True(browsers.Length >= 100, $"only {browsers.Length} browsers");
        var flagged = browsers.Where(BotDetector.IsBot).ToList();
        Assert.True(flagged.Count == 0, $"taken for bots: {string.Join(" | ", flagged)}");
    }
}
