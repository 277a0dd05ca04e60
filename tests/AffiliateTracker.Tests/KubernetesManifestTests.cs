using System.ComponentModel;
using System.Globalization;
using AffiliateTracker.Clicks;
using AffiliateTracker.Conversions;
using AffiliateTracker.Health;
using AffiliateTracker.PublisherPostbacks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using static AffiliateTracker.Tests.KubernetesManifests;
using Yaml = System.Collections.Generic.Dictionary<string, object?>;

namespace AffiliateTracker.Tests;

/// deploy/kubernetes, rendered by kubectl (KubernetesManifests): the settings reach the server, the probes ask the
/// right endpoints, receiving instances leave the flush to flush instances, and a pod stops only after it drained.
public sealed class KubernetesManifestTests
{
    private const string Receiving = "affiliatetracker-receiving";
    private const string Flush = "affiliatetracker-flush";
    private static readonly string[] Deployments = [Receiving, Flush];

    private static IReadOnlyDictionary<string, string> Env(string deployment) => Example.Environment(Deployment(deployment));

    [Fact]
    public void Every_setting_the_manifests_pass_binds_to_an_option()
    {
        var problems = Deployments.SelectMany(d => SettingsBinding.Problems(Env(d)).Select(p => $"{d}: {p}")).ToList();
        Assert.True(problems.Count == 0, "Settings the server would ignore or refuse:\n" + string.Join("\n", problems));

        // Every ConfigMap and Secret reaches a container, so none of their keys escaped the check above.
        var used = Deployments.SelectMany(d => Maps(Container(Deployment(d)), "envFrom"))
            .Select(s => Text(s, "configMapRef", "name") ?? Text(s, "secretRef", "name")).ToHashSet();
        foreach (var source in Example.OfKind("ConfigMap").Concat(Example.OfKind("Secret")))
            Assert.True(used.Contains(Text(source, "metadata", "name")), $"{Text(source, "kind")} {Text(source, "metadata", "name")} reaches no container");
    }

    [Theory]
    [InlineData("Clicks__FlusherEnabeld", "false")]            // a property misspelled
    [InlineData("Click__FlusherEnabled", "false")]             // a section misspelled
    [InlineData("ConnectionStrings__Postgress", "Host=db")]    // a connection string nothing asks for
    [InlineData("Clicks__FlusherEnabled", "sometimes")]        // not a bool
    [InlineData("Health__DrainDelay", "10s")]                  // not a TimeSpan
    [InlineData("HostOptions__ShutdownTimeout", "00:00:45")]   // no HostOptions section is bound
    [InlineData("shutdownTimeoutSeconds", "45s")]              // the host reads whole seconds only
    [InlineData("Proxies__Trusted", "the-load-balancer")]      // the server refuses to start on it
    public void The_binding_check_rejects_a_setting_the_server_would_ignore_or_refuse(string name, string value)
    {
        var problems = SettingsBinding.Problems(new Dictionary<string, string> { [name] = value });
        Assert.Contains(problems, p => p.Contains(name, StringComparison.OrdinalIgnoreCase)
            || p.Contains(SettingsBinding.Normalize(name), StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void The_binding_check_accepts_options_connection_strings_keys_read_by_name_lists_and_host_settings()
    {
        var problems = SettingsBinding.Problems(new Dictionary<string, string>
        {
            ["Clicks__FlusherEnabled"] = "false",
            ["clicks__maxbatchesinflight"] = "8",
            ["Conversions__HoldCheckInterval"] = "00:01:00",
            ["Redis__ReplicaAckTimeout"] = "00:00:00.500",
            ["Health__DrainDelay"] = "00:00:10",
            ["ConnectionStrings__PostgresReadOnly"] = "Host=replica",
            ["Geo__CountryDatabase"] = "/data/country.mmdb",
            ["PublicBaseUrl"] = "https://track.example.com",
            ["Proxies__Trusted__0"] = "10.0.0.0/8",
            ["Urls"] = "http://0.0.0.0:8080",
            ["shutdownTimeoutSeconds"] = "45",
        });
        Assert.Empty(problems);
    }

    [Theory]
    [InlineData(Receiving)]
    [InlineData(Flush)]
    public void Probes_ask_for_live_and_ready_on_the_port_the_server_listens_on(string deployment)
    {
        var container = Container(Deployment(deployment));
        var urls = Setting(Env(deployment), "Urls")
            ?? throw new Xunit.Sdk.XunitException($"{deployment} sets no Urls: the server would listen on appsettings.json's 127.0.0.1:5080, unreachable from outside the pod");
        var port = new Uri(Assert.Single(urls.Split(';'))).Port;
        Assert.Contains(Maps(container, "ports"), p => Text(p, "containerPort") == port.ToString(CultureInfo.InvariantCulture));

        // Not /health: it answers 503 while a store is down, when redirects still work, and would restart or
        // unlist every instance at once.
        Assert.Equal("/health/live", Text(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("/health/ready", Text(container, "readinessProbe", "httpGet", "path"));
        if (At(container, "startupProbe") is not null) Assert.Equal("/health/live", Text(container, "startupProbe", "httpGet", "path"));
        foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" }.Where(p => At(container, p) is not null))
            Assert.True(ContainerPort(container, Text(container, probe, "httpGet", "port")) == port, $"{deployment}'s {probe} asks another port than {port}");
    }

    [Fact]
    public void Receiving_instances_leave_the_flush_and_publisher_postbacks_to_flush_instances()
    {
        var receiving = Env(Receiving);
        Assert.False(Setting(receiving, "Clicks__FlusherEnabled", new ClickOptions().FlusherEnabled));
        Assert.False(Setting(receiving, "Conversions__FlusherEnabled", new ConversionOptions().FlusherEnabled));
        Assert.False(Setting(receiving, "PublisherPostbacks__Enabled", new PublisherPostbackOptions().Enabled));

        var flush = Env(Flush);
        Assert.True(Setting(flush, "Clicks__FlusherEnabled", new ClickOptions().FlusherEnabled));
        Assert.True(Setting(flush, "Conversions__FlusherEnabled", new ConversionOptions().FlusherEnabled));
        Assert.True(Setting(flush, "PublisherPostbacks__Enabled", new PublisherPostbackOptions().Enabled));

        // Both read the same stream shards, or some shards would never be flushed.
        Assert.Equal(Setting(receiving, "Clicks__StreamShards", 1), Setting(flush, "Clicks__StreamShards", 1));
        Assert.Equal(Setting(receiving, "Conversions__StreamShards", 1), Setting(flush, "Conversions__StreamShards", 1));
    }

    [Fact]
    public void Services_send_traffic_to_receiving_instances_only()
    {
        var services = Example.OfKind("Service").Where(s => Text(s, "spec", "type") != "ExternalName").ToList();
        var receiving = Deployment(Receiving);
        foreach (var service in services)
            Assert.False(Selects(Strings(service, "spec", "selector"), PodLabels(Deployment(Flush))),
                $"Service {Text(service, "metadata", "name")} selects flush instances");
        Assert.Contains(services, s => Selects(Strings(s, "spec", "selector"), PodLabels(receiving))
            && Maps(s, "spec", "ports").Any(p => ContainerPort(Container(receiving), Text(p, "targetPort") ?? Text(p, "port")) is not null));
    }

    [Fact]
    public void The_autoscaler_scales_the_receiving_deployment_on_cpu()
    {
        var autoscaler = Assert.Single(Example.OfKind("HorizontalPodAutoscaler"));
        Assert.Equal("autoscaling/v2", Text(autoscaler, "apiVersion"));
        Assert.Equal("Deployment", Text(autoscaler, "spec", "scaleTargetRef", "kind"));
        Assert.Equal(Receiving, Text(autoscaler, "spec", "scaleTargetRef", "name"));
        Assert.Contains(Maps(autoscaler, "spec", "metrics"), m => Text(m, "type") == "Resource" && Text(m, "resource", "name") == "cpu");
        Assert.True(int.Parse(Text(autoscaler, "spec", "minReplicas") ?? "1", CultureInfo.InvariantCulture) >= 2, "one receiving instance is no availability");

        var receiving = Deployment(Receiving);
        // Utilisation is measured against the request; and an apply must not reset the count the autoscaler chose.
        Assert.NotNull(Text(Container(receiving), "resources", "requests", "cpu"));
        Assert.Null(At(receiving, "spec", "replicas"));
    }

    [Theory]
    [InlineData(Receiving, Flush)]
    [InlineData(Flush, Receiving)]
    public void Each_deployment_has_a_disruption_budget_of_its_own(string deployment, string other)
    {
        var budget = Assert.Single(Example.OfKind("PodDisruptionBudget"),
            b => Selects(Strings(b, "spec", "selector", "matchLabels"), PodLabels(Deployment(deployment))));
        Assert.False(Selects(Strings(budget, "spec", "selector", "matchLabels"), PodLabels(Deployment(other))));
        Assert.True(At(budget, "spec", "minAvailable") is not null || At(budget, "spec", "maxUnavailable") is not null);
    }

    [Theory]
    [InlineData(Receiving)]
    [InlineData(Flush)]
    public void Pods_are_given_longer_to_stop_than_the_server_takes_to_drain_and_stop(string deployment)
    {
        var env = Env(deployment);
        var drain = Setting(env, "Health__DrainDelay", new HealthOptions().DrainDelay);
        var shutdown = Setting(env, "shutdownTimeoutSeconds") is { } seconds
            ? TimeSpan.FromSeconds(int.Parse(seconds, CultureInfo.InvariantCulture)) : new HostOptions().ShutdownTimeout;
        var grace = TimeSpan.FromSeconds(int.Parse(Text(Deployment(deployment), "spec", "template", "spec", "terminationGracePeriodSeconds") ?? "30", CultureInfo.InvariantCulture));

        if (deployment == Receiving) Assert.True(drain > TimeSpan.Zero, "receiving instances must keep serving while they are taken out of the Service");
        Assert.True(grace > drain, $"terminationGracePeriodSeconds ({grace}) must exceed Health__DrainDelay ({drain})");
        // The drain counts against the host's shutdown timeout; what is left of it writes the buffered clicks.
        Assert.True(shutdown > drain, $"the host's shutdown timeout ({shutdown}) must exceed Health__DrainDelay ({drain})");
        Assert.True(grace > shutdown, $"terminationGracePeriodSeconds ({grace}) must exceed the host's shutdown timeout ({shutdown}), or SIGKILL cuts the stop short");
    }

    [Fact]
    public void Connection_strings_and_the_master_key_come_only_from_the_secret()
    {
        static bool Secret(string name) => SettingsBinding.Normalize(name).StartsWith("ConnectionStrings:", StringComparison.OrdinalIgnoreCase)
            || SettingsBinding.Normalize(name).StartsWith("Secrets:", StringComparison.OrdinalIgnoreCase);

        foreach (var map in Example.OfKind("ConfigMap"))
            foreach (var (key, value) in Strings(map, "data"))
            {
                Assert.False(Secret(key), $"{key} is in ConfigMap {Text(map, "metadata", "name")}");
                Assert.DoesNotContain("password=", value, StringComparison.OrdinalIgnoreCase);
            }

        foreach (var deployment in Deployments)
        {
            var container = Container(Deployment(deployment));
            foreach (var entry in Maps(container, "env").Where(e => Secret(Text(e, "name")!)))
                Assert.True(Text(entry, "valueFrom", "secretKeyRef", "name") is not null, $"{deployment} sets {Text(entry, "name")} in plain text");
            var fromSecrets = Maps(container, "envFrom").Select(s => Text(s, "secretRef", "name")).OfType<string>()
                .SelectMany(name => Example.SecretData(name).Keys).ToHashSet();
            foreach (var needed in new[] { "ConnectionStrings__Redis", "ConnectionStrings__Postgres", "Secrets__MasterKey" })
                Assert.True(fromSecrets.Contains(needed), $"{deployment} gets {needed} from no Secret");

            // The server takes the key (base64, at least 32 bytes), or it would refuse postback signing at start.
            _ = new PostbackSigning(new ConfigurationBuilder()
                .AddInMemoryCollection([new("Secrets:MasterKey", Env(deployment)["Secrets__MasterKey"])]).Build());
        }

        // The example must never look like, or become, a real installation's secrets.
        foreach (var secret in Example.OfKind("Secret"))
            foreach (var (key, value) in Example.SecretData(Text(secret, "metadata", "name")!))
                Assert.True(value.Replace("-", "").Contains("NOTaREAL", StringComparison.OrdinalIgnoreCase), $"the example's {key} is not an obvious placeholder");
    }

    [Fact]
    public void No_test_only_or_demo_setting_is_passed()
    {
        foreach (var deployment in Deployments)
        {
            var env = Env(deployment);
            Assert.DoesNotContain(env.Keys, k => SettingsBinding.Normalize(k).StartsWith("Faults:", StringComparison.OrdinalIgnoreCase));
            Assert.False(Setting(env, "Demo__Enabled", false), $"{deployment} seeds the demo network");
        }
    }

    [Theory]
    [InlineData(Receiving)]
    [InlineData(Flush)]
    public void Containers_run_unprivileged_on_a_read_only_root_with_resources_set(string deployment)
    {
        var pod = At(Deployment(deployment), "spec", "template", "spec");
        var container = Container(Deployment(deployment));
        Assert.Equal("true", Text(container, "securityContext", "runAsNonRoot") ?? Text(pod, "securityContext", "runAsNonRoot"));
        Assert.Equal("true", Text(container, "securityContext", "readOnlyRootFilesystem"));
        Assert.Equal("false", Text(container, "securityContext", "allowPrivilegeEscalation"));
        Assert.Contains("ALL", (At(container, "securityContext", "capabilities", "drop") as List<object?> ?? []).OfType<string>());
        // The runtime's diagnostics socket and temporary files need a writable /tmp.
        Assert.Contains(Maps(container, "volumeMounts"), m => Text(m, "mountPath") == "/tmp");
        foreach (var kind in new[] { "requests", "limits" })
            foreach (var resource in new[] { "cpu", "memory" })
                Assert.True(Text(container, "resources", kind, resource) is not null, $"{deployment} has no {resource} {kind}");
    }

    /// A setting of the environment, by its configuration key (names compare as the server compares them).
    private static string? Setting(IReadOnlyDictionary<string, string> env, string name) =>
        env.Where(e => string.Equals(SettingsBinding.Normalize(e.Key), SettingsBinding.Normalize(name), StringComparison.OrdinalIgnoreCase))
            .Select(e => e.Value).LastOrDefault();

    /// A setting converted as the configuration binder converts it, or the option's default when it is not set.
    private static T Setting<T>(IReadOnlyDictionary<string, string> env, string name, T fallback) =>
        Setting(env, name) is { } value ? (T)TypeDescriptor.GetConverter(typeof(T)).ConvertFromInvariantString(value)! : fallback;

    private static bool Selects(IReadOnlyDictionary<string, string> selector, IReadOnlyDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);

    /// The container port a probe or Service names, by number or by the port's name; null when it names none.
    private static int? ContainerPort(Yaml container, string? port)
    {
        foreach (var p in Maps(container, "ports"))
            if (Text(p, "name") == port || Text(p, "containerPort") == port)
                return int.Parse(Text(p, "containerPort")!, CultureInfo.InvariantCulture);
        return null;
    }
}
