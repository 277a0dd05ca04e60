using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using AffiliateTracker.Clicks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace AffiliateTracker.Tests;

/// Whether environment settings (`Section__Key=value`, as a Kubernetes manifest passes them) reach the server:
/// a name nothing reads is ignored without a word at run time, so a misspelled `Clicks__FlusherEnabeld=false`
/// would leave the flushers on. What counts as read is found, not listed by hand:
///   - the server's own registrations (every `AddX(IServiceCollection, IConfiguration)`) run over the settings
///     through a configuration that notes each value read, and then every options class they registered is
///     bound, so each `Configure<T>(section)` reads exactly its properties (a value that does not convert to
///     the property's type throws here as it would at start);
///   - keys the code reads by name elsewhere (`config["Geo:CountryDatabase"]`, `GetValue("Console:…")`,
///     `GetConnectionString("Postgres")`), found in the source;
///   - the two host settings a deployment needs, each shown to take effect: `Urls` and `shutdownTimeoutSeconds`.
/// A key under one read as a list (`Proxies__Trusted__0`) counts as read.
public static partial class SettingsBinding
{
    /// What is wrong with these settings, one line each, naming the setting and never its value (secrets).
    public static List<string> Problems(IReadOnlyDictionary<string, string> environment)
    {
        var problems = new List<string>();
        var settings = environment.ToDictionary(e => Normalize(e.Key), e => e.Value, StringComparer.OrdinalIgnoreCase);

        var reads = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        problems.AddRange(RunRegistrations(settings, reads));
        reads.UnionWith(ReadInSource.Value);

        foreach (var (name, value) in environment)
        {
            var key = Normalize(name);
            if (HostSettings.TryGetValue(key, out var check))
            {
                if (check(value) is { } why) problems.Add($"{name}: {why}");
            }
            else if (!IsRead(key, reads))
                problems.Add($"{name}: nothing in the server reads '{key}' (no options class has that property, no code reads that key)");
        }
        return problems;
    }

    /// `Section__Key` as the environment-variable configuration provider turns it into `Section:Key`.
    public static string Normalize(string name) => name.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);

    private static bool IsRead(string key, HashSet<string> reads)
    {
        if (reads.Contains(key)) return true;
        // An item of a list setting: the list was read, the rest of the key is indexes.
        var parts = key.Split(':');
        for (var i = parts.Length - 1; i > 0; i--)
        {
            if (!parts[i..].All(p => p.Length > 0 && p.All(char.IsAsciiDigit))) break;
            if (reads.Contains(string.Join(':', parts[..i]))) return true;
        }
        return false;
    }

    /// The server's registrations over these settings; notes every key whose value is read.
    private static IEnumerable<string> RunRegistrations(Dictionary<string, string> settings, HashSet<string> reads)
    {
        var given = settings.ToDictionary(e => e.Key, e => (string?)e.Value, StringComparer.OrdinalIgnoreCase);
        // The stores' registration refuses to run without these; a stand-in only lets it run, it is never checked.
        given.TryAdd("ConnectionStrings:Postgres", "Host=stand-in");
        given.TryAdd("ConnectionStrings:Redis", "stand-in:6379");
        var config = new RecordingConfiguration(new ConfigurationBuilder().AddInMemoryCollection(given).Build(), reads);

        var app = typeof(ClickOptions).Assembly;
        var registrations = app.GetExportedTypes()
            .Where(t => t is { IsAbstract: true, IsSealed: true })
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.Name.StartsWith("Add", StringComparison.Ordinal) && !m.IsGenericMethod && m.IsDefined(typeof(ExtensionAttribute))
                && m.GetParameters() is [var s, var c] && s.ParameterType == typeof(IServiceCollection) && c.ParameterType == typeof(IConfiguration))
            .ToList();
        // Finding none would make every setting look unread or, worse, the check look done: say so instead.
        if (registrations.Count == 0) return ["found no AddX(IServiceCollection, IConfiguration) registration in the server"];

        var problems = new List<string>();
        var services = new ServiceCollection();
        foreach (var register in registrations)
        {
            try { register.Invoke(null, [services, config]); }
            catch (TargetInvocationException e) { problems.Add($"{register.DeclaringType!.Name}.{register.Name} refused the settings: {e.InnerException!.Message}"); }
        }

        var optionTypes = services
            .Where(d => d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() == typeof(IConfigureOptions<>))
            .Select(d => d.ServiceType.GetGenericArguments()[0])
            .Where(t => t.Assembly == app)
            .Distinct()
            .ToList();
        if (optionTypes.Count == 0) problems.Add("the server's registrations configured no options class");
        using var provider = services.BuildServiceProvider();
        foreach (var type in optionTypes)
        {
            var options = provider.GetRequiredService(typeof(IOptions<>).MakeGenericType(type));
            try { _ = options.GetType().GetProperty(nameof(IOptions<object>.Value))!.GetValue(options); }
            catch (TargetInvocationException e) { problems.Add($"{type.Name} does not bind: {e.InnerException!.Message}"); }
        }
        return problems;
    }

    /// Host settings, each checked by the host that reads it rather than trusted by name.
    private static readonly Dictionary<string, Func<string, string?>> HostSettings = new(StringComparer.OrdinalIgnoreCase)
    {
        // Where Kestrel listens: the web host's `urls` key.
        [WebHostDefaults.ServerUrlsKey] = value => value.Split(';').All(u => Uri.TryCreate(u.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            ? null : "is not a ;-separated list of http(s) URLs",
        // HostOptions.ShutdownTimeout: only this key binds it (there is no HostOptions section).
        ["shutdownTimeoutSeconds"] = value =>
        {
            var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection([new("shutdownTimeoutSeconds", value)]);
            using var host = builder.Build();
            var bound = host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
            return int.TryParse(value, out var seconds) && bound == TimeSpan.FromSeconds(seconds)
                ? null : $"does not set the host's shutdown timeout (it stays {bound})";
        },
    };

    /// Keys the code reads by name, outside the options classes: `…config…["A:B"]`, `GetValue(<T>)("A:B"…)`,
    /// `GetConnectionString("X")`.
    private static readonly Lazy<HashSet<string>> ReadInSource = new(() =>
    {
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in Directory.EnumerateFiles(RepositoryRoot.Path("src", "AffiliateTracker"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
            var code = File.ReadAllText(file);
            foreach (Match m in IndexedRead().Matches(code)) keys.Add(m.Groups["key"].Value);
            foreach (Match m in GetValueRead().Matches(code)) keys.Add(m.Groups["key"].Value);
            foreach (Match m in ConnectionStringRead().Matches(code)) keys.Add("ConnectionStrings:" + m.Groups["name"].Value);
        }
        if (keys.Count == 0) throw new InvalidOperationException("found no configuration read in src/AffiliateTracker: the source scan is broken");
        return keys;
    });

    [GeneratedRegex("""(?i:config\w*)\s*\[\s*"(?<key>[A-Za-z][\w:]*)"\s*\]""")]
    private static partial Regex IndexedRead();

    [GeneratedRegex("""\.GetValue(?:<[^>()]+>)?\(\s*"(?<key>[A-Za-z][\w:]*)"\s*[,)]""")]
    private static partial Regex GetValueRead();

    [GeneratedRegex("""\.GetConnectionString\(\s*"(?<name>\w+)"\s*\)""")]
    private static partial Regex ConnectionStringRead();

    /// Passes everything through to the real configuration and notes the path of every value read. Listing a
    /// section's children is not reading them: the binder lists them, and would otherwise "read" a misspelling.
    private sealed class RecordingConfiguration(IConfiguration inner, HashSet<string> reads) : IConfiguration
    {
        public string? this[string key]
        {
            get { reads.Add(key); return inner[key]; }
            set => inner[key] = value;
        }

        public IConfigurationSection GetSection(string key) => new RecordingSection(inner.GetSection(key), reads);
        public IEnumerable<IConfigurationSection> GetChildren() => inner.GetChildren();
        public IChangeToken GetReloadToken() => inner.GetReloadToken();
    }

    private sealed class RecordingSection(IConfigurationSection inner, HashSet<string> reads) : IConfigurationSection
    {
        public string? this[string key]
        {
            get { reads.Add(ConfigurationPath.Combine(inner.Path, key)); return inner[key]; }
            set => inner[key] = value;
        }

        public string Key => inner.Key;
        public string Path => inner.Path;

        public string? Value
        {
            get { reads.Add(inner.Path); return inner.Value; }
            set => inner.Value = value;
        }

        public IConfigurationSection GetSection(string key) => new RecordingSection(inner.GetSection(key), reads);
        public IEnumerable<IConfigurationSection> GetChildren() => inner.GetChildren();
        public IChangeToken GetReloadToken() => inner.GetReloadToken();
    }
}

public static class RepositoryRoot
{
    /// A path in the repository, found from the test binaries upwards.
    public static string Path(params string[] parts)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "AffiliateTracker.sln"))) dir = dir.Parent;
        var root = dir?.FullName ?? throw new DirectoryNotFoundException("AffiliateTracker.sln not found above the test binaries");
        return System.IO.Path.Combine(new[] { root }.Concat(parts).ToArray());
    }
}
