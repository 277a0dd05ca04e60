using System.Diagnostics;
using System.Text;
using YamlDotNet.RepresentationModel;
using Yaml = System.Collections.Generic.Dictionary<string, object?>;

namespace AffiliateTracker.Tests;

/// deploy/kubernetes/overlays/example as `kubectl kustomize` renders it, read into plain maps, lists and strings.
/// The kubectl is $AT_KUBECTL (deploy/test.sh sets it from deploy/kubectl.sh), else the one on PATH; without
/// one the tests fail saying so, rather than pass having checked nothing.
public sealed class KubernetesManifests
{
    public const string Overlay = "deploy/kubernetes/overlays/example";

    public IReadOnlyList<Yaml> Objects { get; }

    private KubernetesManifests(IReadOnlyList<Yaml> objects) => Objects = objects;

    private static readonly Lazy<KubernetesManifests> Rendered = new(() => Parse(Render()));
    public static KubernetesManifests Example => Rendered.Value;

    public IEnumerable<Yaml> OfKind(string kind) => Objects.Where(o => Text(o, "kind") == kind);

    public Yaml Named(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => Text(o, "metadata", "name") == name)
        ?? throw new Xunit.Sdk.XunitException($"{Overlay} renders no {kind} named {name}; it renders: "
            + string.Join(", ", Objects.Select(o => $"{Text(o, "kind")}/{Text(o, "metadata", "name")}")));

    public static Yaml Deployment(string name) => Example.Named("Deployment", name);

    /// The one container of a Deployment's pods.
    public static Yaml Container(Yaml deployment) => Assert.Single(Maps(deployment, "spec", "template", "spec", "containers"));

    public static IReadOnlyDictionary<string, string> PodLabels(Yaml deployment) => Strings(deployment, "spec", "template", "metadata", "labels");

    /// The environment the container starts with, as Kubernetes builds it: envFrom sources in order, then env,
    /// each later one overriding; Secret values decoded.
    public IReadOnlyDictionary<string, string> Environment(Yaml deployment)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var container = Container(deployment);
        foreach (var source in Maps(container, "envFrom"))
        {
            var prefix = Text(source, "prefix") ?? "";
            foreach (var (key, value) in Source(source))
                env[prefix + key] = value;
        }
        foreach (var entry in Maps(container, "env"))
        {
            var name = Text(entry, "name")!;
            env[name] = Text(entry, "value") ?? Text(entry, "valueFrom", "configMapKeyRef", "name") switch
            {
                { } map => ConfigMapData(map)[Text(entry, "valueFrom", "configMapKeyRef", "key")!],
                null => Text(entry, "valueFrom", "secretKeyRef", "name") is { } secret
                    ? SecretData(secret)[Text(entry, "valueFrom", "secretKeyRef", "key")!]
                    : throw new Xunit.Sdk.XunitException($"{name}: only value, configMapKeyRef and secretKeyRef are understood here"),
            };
        }
        return env;
    }

    private IReadOnlyDictionary<string, string> Source(Yaml envFrom) =>
        Text(envFrom, "configMapRef", "name") is { } map ? ConfigMapData(map)
        : Text(envFrom, "secretRef", "name") is { } secret ? SecretData(secret)
        : throw new Xunit.Sdk.XunitException("envFrom with neither configMapRef nor secretRef");

    public IReadOnlyDictionary<string, string> ConfigMapData(string name) => Strings(Named("ConfigMap", name), "data");

    public IReadOnlyDictionary<string, string> SecretData(string name)
    {
        var secret = Named("Secret", name);
        var data = Strings(secret, "data").ToDictionary(d => d.Key, d => Encoding.UTF8.GetString(Convert.FromBase64String(d.Value)));
        foreach (var (key, value) in Strings(secret, "stringData")) data[key] = value;
        return data;
    }

    // Navigation over the parsed YAML: a missing step gives null (or nothing), never an exception.
    public static object? At(object? node, params string[] path)
    {
        foreach (var step in path) node = node is Yaml map && map.TryGetValue(step, out var next) ? next : null;
        return node;
    }

    public static string? Text(object? node, params string[] path) => At(node, path) as string;

    public static IEnumerable<Yaml> Maps(object? node, params string[] path) => (At(node, path) as List<object?> ?? []).OfType<Yaml>();

    public static IReadOnlyDictionary<string, string> Strings(object? node, params string[] path) =>
        (At(node, path) as Yaml ?? new Yaml()).ToDictionary(e => e.Key, e => e.Value as string ?? "", StringComparer.Ordinal);

    private static string Render()
    {
        var kubectl = Kubectl();
        var start = new ProcessStartInfo(kubectl) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot.Path() };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(RepositoryRoot.Path(Overlay.Split('/')));
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120))) { process.Kill(); throw new TimeoutException($"{kubectl} kustomize {Overlay} took over 120 s"); }
        // kustomize v5 warns on stderr about fields kept for v2.0.3 (bases, commonLabels): not failures.
        if (process.ExitCode != 0) throw new Xunit.Sdk.XunitException($"{kubectl} kustomize {Overlay} failed ({process.ExitCode}): {stderr.Result}");
        return stdout;
    }

    private static string Kubectl()
    {
        if (System.Environment.GetEnvironmentVariable("AT_KUBECTL") is { Length: > 0 } configured)
            return File.Exists(configured) ? configured : throw new Xunit.Sdk.XunitException($"AT_KUBECTL={configured} does not exist");
        foreach (var dir in (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, "kubectl"))) return Path.Combine(dir, "kubectl");
        throw new Xunit.Sdk.XunitException(
            "No kubectl to render the Kubernetes manifests: set AT_KUBECTL or put kubectl on PATH (deploy/test.sh sets AT_KUBECTL=\"$(deploy/kubectl.sh)\", "
            + "which installs Debian's kubernetes-client when missing).");
    }

    private static KubernetesManifests Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var objects = stream.Documents.Select(d => Plain(d.RootNode)).OfType<Yaml>().ToList();
        if (objects.Count == 0) throw new Xunit.Sdk.XunitException($"{Overlay} rendered nothing");
        return new KubernetesManifests(objects);
    }

    private static object? Plain(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => Plain(c.Value), StringComparer.Ordinal),
        YamlSequenceNode list => list.Children.Select(Plain).ToList(),
        YamlScalarNode scalar => scalar.Value,
        _ => throw new NotSupportedException($"YAML node {node.NodeType}"),
    };
}
