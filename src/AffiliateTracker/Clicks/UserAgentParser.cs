using System.Text;
using System.Text.RegularExpressions;

namespace AffiliateTracker.Clicks;

/// Browser and OS families from a user agent, by uap-core's regular expressions (regexes.yaml, the data set
/// behind Browserscope's parser and its ports, fetched by deploy/traffic-data.sh): the first expression that
/// matches wins, its groups or replacement give the family and version, as uap-core's specification says.
/// Runs in the click flusher, after the 302, and remembers its answer per user agent (TrafficClassifier). The
/// expressions are compiled (about 0.4 s at start): a user agent never seen costs about a third of what it does
/// interpreted (benchmarks/README.md).
public sealed class UserAgentParser
{
    private sealed record Parser(Regex Regex, string? Family, string? V1);

    private readonly Parser[] _browsers, _systems;

    public static readonly UserAgentParser Empty = new([], []);
    public int Expressions => _browsers.Length + _systems.Length;

    private UserAgentParser(Parser[] browsers, Parser[] systems) => (_browsers, _systems) = (browsers, systems);

    /// Reads the two sections this needs (user_agent_parsers, os_parsers) of uap-core's YAML: a list of maps of
    /// single-quoted strings, which a few lines read without a YAML library.
    public static UserAgentParser Load(TextReader yaml)
    {
        var sections = new Dictionary<string, List<Dictionary<string, string>>>();
        List<Dictionary<string, string>>? current = null;
        Dictionary<string, string>? entry = null;
        while (yaml.ReadLine() is { } line)
        {
            var trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] == '#') continue;
            if (!char.IsWhiteSpace(line[0]) && line.EndsWith(':'))
            {
                current = sections[line[..^1]] = [];
                entry = null;
                continue;
            }
            if (current is null) continue;
            if (trimmed.StartsWith("- ", StringComparison.Ordinal)) { current.Add(entry = []); trimmed = trimmed[2..]; }
            var colon = trimmed.IndexOf(": ", StringComparison.Ordinal);
            if (entry is null || colon < 0) continue;
            entry[trimmed[..colon]] = Unquote(trimmed[(colon + 2)..]);
        }
        // An expression .NET cannot read (a newer regexes.yaml may use syntax it lacks) is left out, not fatal.
        Parser[] Build(string section, string familyKey, string versionKey) => sections.GetValueOrDefault(section, [])
            .Where(e => e.ContainsKey("regex"))
            .Select(e =>
            {
                try
                {
                    return new Parser(new Regex(e["regex"], RegexOptions.Compiled | RegexOptions.CultureInvariant
                        | (e.GetValueOrDefault("regex_flag") == "i" ? RegexOptions.IgnoreCase : 0), TimeSpan.FromMilliseconds(50)),
                        e.GetValueOrDefault(familyKey), e.GetValueOrDefault(versionKey));
                }
                catch (ArgumentException) { return null; }
            })
            .OfType<Parser>()
            .ToArray();
        return new UserAgentParser(Build("user_agent_parsers", "family_replacement", "v1_replacement"),
            Build("os_parsers", "os_replacement", "os_v1_replacement"));
    }

    public (string? Browser, string? Os, string? OsVersion) Parse(string userAgent)
    {
        var (browser, _) = First(_browsers, userAgent);
        var (os, osVersion) = First(_systems, userAgent);
        return (browser, os, osVersion);
    }

    // The family is the replacement (with $1 standing for the first group) or the first group; the major
    // version likewise from the second group.
    private static (string? Family, string? Version) First(Parser[] parsers, string userAgent)
    {
        foreach (var p in parsers)
        {
            Match m;
            try { m = p.Regex.Match(userAgent); }
            catch (RegexMatchTimeoutException) { continue; }
            if (!m.Success) continue;
            var family = p.Family is { } f ? Substitute(f, m) : m.Groups.Count > 1 ? m.Groups[1].Value : null;
            var version = p.V1 is { } v ? Substitute(v, m) : m.Groups.Count > 2 ? m.Groups[2].Value : null;
            return (string.IsNullOrWhiteSpace(family) ? null : family.Trim(), string.IsNullOrWhiteSpace(version) ? null : version.Trim());
        }
        return (null, null);
    }

    private static string Substitute(string replacement, Match m)
    {
        if (!replacement.Contains('$')) return replacement;
        var sb = new StringBuilder(replacement.Length + 16);
        for (var i = 0; i < replacement.Length; i++)
        {
            if (replacement[i] == '$' && i + 1 < replacement.Length && char.IsAsciiDigit(replacement[i + 1]))
            {
                var group = replacement[i + 1] - '0';
                if (group < m.Groups.Count) sb.Append(m.Groups[group].Value);
                i++;
            }
            else sb.Append(replacement[i]);
        }
        return sb.ToString();
    }

    // 'single quoted' ('' is a quote) or "double quoted" (backslash escapes) or bare.
    private static string Unquote(string value)
    {
        value = value.Trim();
        if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'') return value[1..^1].Replace("''", "'");
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"') return Regex.Unescape(value[1..^1]);
        return value;
    }
}
