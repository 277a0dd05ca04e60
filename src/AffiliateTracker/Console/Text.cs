using System.Collections.Frozen;
using System.Globalization;
using System.Xml.Linq;

namespace AffiliateTracker.Console;

/// The console's words and number formats in the visitor's language. Strings come from Resources/Strings*.resx.
/// The server runs with invariant globalization (no ICU needed anywhere), so the resx files are read here
/// directly rather than through satellite assemblies and cultures, and each language's number and date
/// rules are stated below.
public sealed class Text
{
    public const string Cookie = "at_lang";
    public static readonly string[] Languages = ["en", "ru", "zh-Hans", "vi", "tr"];
    public static readonly FrozenDictionary<string, string> LanguageNames = new Dictionary<string, string>
    {
        ["en"] = "English", ["ru"] = "Русский", ["zh-Hans"] = "简体中文", ["vi"] = "Tiếng Việt", ["tr"] = "Türkçe",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, FrozenDictionary<string, string>> Strings = Load();
    private static readonly FrozenDictionary<string, Format> Formats = new Dictionary<string, Format>
    {
        ["en"] = new(",", ".", "d MMM yyyy", "{0}%"),
        ["ru"] = new("\u00A0", ",", "dd.MM.yyyy", "{0}\u00A0%"),
        ["zh-Hans"] = new(",", ".", "yyyy/M/d", "{0}%"),
        ["vi"] = new(".", ",", "dd/MM/yyyy", "{0}%"),
        ["tr"] = new(".", ",", "dd.MM.yyyy", "%{0}"),
    }.ToFrozenDictionary();

    private sealed record Format(string Group, string Decimal, string DatePattern, string PercentPattern)
    {
        public readonly NumberFormatInfo Numbers = new() { NumberGroupSeparator = Group, NumberDecimalSeparator = Decimal };
    }

    public string Language { get; }
    private readonly FrozenDictionary<string, string> strings;
    private readonly Format format;

    public Text(string language)
    {
        Language = Strings.ContainsKey(language) ? language : "en";
        strings = Strings[Language];
        format = Formats[Language];
    }

    /// The visitor's language: their choice (cookie, set by the switcher and at sign-in), else the browser's.
    public static Text For(HttpContext http)
    {
        if (http.Items[typeof(Text)] is Text cached) return cached;
        var chosen = http.Request.Cookies[Cookie];
        var language = chosen is not null && Strings.ContainsKey(chosen) ? chosen : FromAcceptLanguage(http.Request.Headers.AcceptLanguage.ToString());
        var text = new Text(language);
        http.Items[typeof(Text)] = text;
        return text;
    }

    public static bool IsLanguage(string? language) => language is not null && Strings.ContainsKey(language);

    private static string FromAcceptLanguage(string header)
    {
        foreach (var part in header.Split(','))
        {
            var tag = part.Split(';')[0].Trim().ToLowerInvariant();
            if (tag.StartsWith("zh")) return tag is "zh-tw" or "zh-hk" or "zh-hant" ? "en" : "zh-Hans";
            var primary = tag.Split('-')[0];
            if (primary is "en" or "ru" or "vi" or "tr") return primary;
        }
        return "en";
    }

    public string this[string key] => strings.TryGetValue(key, out var s) ? s : Strings["en"].GetValueOrDefault(key, key);

    /// A string with placeholders ({0}, {1}) filled in.
    public string this[string key, params object?[] args] => string.Format(format.Numbers, this[key], args);

    public string Number(long n) => n.ToString("#,0", format.Numbers);
    public string Number(decimal n, int decimals) => n.ToString("#,0." + new string('0', decimals), format.Numbers);
    /// Amounts are always shown in their own currency, with its ISO code.
    public string Money(decimal amount, string currency) => $"{Number(amount, 2)}\u00A0{currency}";
    public string Percent(decimal? value) => value is null ? "–" : string.Format(format.PercentPattern, Number(value.Value, 2));
    public string Date(DateTime utc) => utc.ToString(format.DatePattern, CultureInfo.InvariantCulture);
    public string DateTime(DateTime utc) => $"{Date(utc)} {utc:HH:mm}";

    /// "in 3 days", "in 5 hours", "in 20 minutes": how long until a moment.
    public string Until(TimeSpan span) => span.TotalDays >= 1 ? this["In.Days", (int)Math.Ceiling(span.TotalDays)]
        : span.TotalHours >= 1 ? this["In.Hours", (int)Math.Ceiling(span.TotalHours)]
        : this["In.Minutes", Math.Max(1, (int)Math.Ceiling(span.TotalMinutes))];

    /// "3 days", "5 h", "20 min", "40 s": a length of time.
    public string Span(TimeSpan span) => span.TotalDays >= 1 ? this["Span.Days", Math.Round(span.TotalDays, 1)]
        : span.TotalHours >= 1 ? this["Span.Hours", Math.Round(span.TotalHours, 1)]
        : span.TotalMinutes >= 1 ? this["Span.Minutes", (int)span.TotalMinutes]
        : this["Span.Seconds", Math.Max(0, (int)span.TotalSeconds)];

    /// Every language's strings, read from the embedded resx files (Console/Resources).
    private static FrozenDictionary<string, FrozenDictionary<string, string>> Load()
    {
        var assembly = typeof(Text).Assembly;
        var all = new Dictionary<string, FrozenDictionary<string, string>>();
        foreach (var language in Languages)
        {
            var name = language == "en" ? "ConsoleStrings.resx" : $"ConsoleStrings.{language}.resx";
            using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"Missing resource {name}");
            all[language] = Parse(XDocument.Load(stream));
        }
        return all.ToFrozenDictionary();
    }

    public static FrozenDictionary<string, string> Parse(XDocument resx) => resx.Root!.Elements("data")
        .ToDictionary(d => (string)d.Attribute("name")!, d => (string?)d.Element("value") ?? "").ToFrozenDictionary();
}
