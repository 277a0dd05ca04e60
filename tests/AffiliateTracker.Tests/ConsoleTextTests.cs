using System.Text.RegularExpressions;
using System.Xml.Linq;
using AffiliateTracker.Console;

namespace AffiliateTracker.Tests;

public class ConsoleTextTests
{
    private static string ResourceDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "AffiliateTracker", "Console", "Resources");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("Console/Resources");
    }

    private static IReadOnlyDictionary<string, string> Strings(string language) =>
        Text.Parse(XDocument.Load(Path.Combine(ResourceDir(), language == "en" ? "Strings.resx" : $"Strings.{language}.resx")));

    public static TheoryData<string> OtherLanguages => new(Text.Languages.Where(l => l != "en"));

    [Theory]
    [MemberData(nameof(OtherLanguages))]
    public void Every_language_has_every_key_with_the_same_placeholders(string language)
    {
        var english = Strings("en");
        var other = Strings(language);
        Assert.Empty(english.Keys.Except(other.Keys).Select(k => $"{language} lacks {k}"));
        Assert.Empty(other.Keys.Except(english.Keys).Select(k => $"{language} has {k}, which English lacks"));
        foreach (var (key, value) in english)
        {
            var placeholders = Regex.Matches(value, @"\{\d+\}").Select(m => m.Value).Order();
            Assert.True(placeholders.SequenceEqual(Regex.Matches(other[key], @"\{\d+\}").Select(m => m.Value).Order()), $"{language} {key}: placeholders differ");
            Assert.False(string.IsNullOrWhiteSpace(other[key]), $"{language} {key} is empty");
        }
    }

    [Fact]
    public void Every_key_the_pages_use_exists_in_English()
    {
        var english = Strings("en");
        var source = Path.GetFullPath(Path.Combine(ResourceDir(), ".."));
        var used = Directory.EnumerateFiles(source, "*.cs*", SearchOption.AllDirectories)
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"T\[""([A-Za-z]+\.[A-Za-z0-9_.]*[A-Za-z0-9_])""\s*[\],]").Select(m => m.Groups[1].Value))
            .Distinct();
        var missing = used.Where(k => !english.ContainsKey(k)).ToList();
        Assert.Empty(missing);
    }

    [Theory]
    [InlineData("en", "1,234,567", "1,234.50\u00A0USD", "12.50%", "4 Dec 2026")]
    [InlineData("ru", "1\u00A0234\u00A0567", "1\u00A0234,50\u00A0USD", "12,50\u00A0%", "04.12.2026")]
    [InlineData("zh-Hans", "1,234,567", "1,234.50\u00A0USD", "12.50%", "2026/12/4")]
    [InlineData("vi", "1.234.567", "1.234,50\u00A0USD", "12,50%", "04/12/2026")]
    [InlineData("tr", "1.234.567", "1.234,50\u00A0USD", "%12,50", "04.12.2026")]
    public void Numbers_money_and_dates_follow_the_language(string language, string number, string money, string percent, string date)
    {
        var text = new Text(language);
        Assert.Equal(number, text.Number(1234567));
        Assert.Equal(money, text.Money(1234.5m, "USD"));
        Assert.Equal(percent, text.Percent(12.5m));
        Assert.Equal(date, text.Date(new DateTime(2026, 12, 4, 10, 0, 0, DateTimeKind.Utc)));
    }

    [Fact]
    public void An_unknown_language_falls_back_to_English() => Assert.Equal("Sign in", new Text("xx")["SignIn.Title"]);
}
