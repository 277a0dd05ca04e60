using System.Diagnostics;
using System.Net;
using System.Text;

namespace AffiliateTracker.Abuse;

public sealed record AbuseOptions(Uri BaseUri, string AdminKey)
{
    public int Requests { get; init; } = 100_000;
    public int Concurrency { get; init; } = 16;
    public int Seed { get; init; } = 1;
    /// Npgsql connection string of the server's database: the partial-write checks read the rows. Without it they use the API.
    public string? Postgres { get; init; }
    public bool LedgerCheck { get; init; } = true;
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// Run only these request indexes (to replay a failure): the setup runs as usual.
    public int[]? Only { get; init; }
    /// Run only the requests among the first Requests whose endpoint label contains this ("raw:", "POST /postback"),
    /// or "aborted" for the requests the client abandons mid-body.
    public string? Where { get; init; }
}

public sealed record AbuseOutcome(AbuseOptions Options, AbuseTally Tally, IReadOnlyList<CheckResult> Checks, TimeSpan Elapsed, long Retried)
{
    public long Server5xx => Tally.Count("5xx");
    public long OpenRedirects => Tally.Violations("open redirect");
    public bool Passed => Tally.ViolationTotal == 0 && Checks.All(c => c.Ok);

    public string Report()
    {
        var sb = new StringBuilder();
        var o = Options;
        sb.AppendLine($"abuse run against {o.BaseUri}: seed {o.Seed}, {o.Requests:N0} generated requests (+ setup), concurrency {o.Concurrency}, " +
                      $"{Elapsed.TotalSeconds:F0} s ({Tally.Total / Math.Max(1, Elapsed.TotalSeconds):F0} requests/s)");
        sb.AppendLine();
        sb.Append(Tally.Table());
        sb.AppendLine();
        sb.AppendLine($"resent on a fresh connection after the server closed a kept-alive one: {Retried}");
        sb.AppendLine("postback answers: " + string.Join(", ", Tally.PostbackResults.OrderByDescending(r => r.Value).Take(14).Select(r => $"{r.Key} {r.Value:N0}")));
        sb.AppendLine();
        var width = Math.Max(40, Checks.Max(c => c.Name.Length) + 2);
        sb.AppendLine("check".PadRight(width) + "expected".PadLeft(12) + "actual".PadLeft(12) + "  ");
        sb.AppendLine($"{"5xx answers",-40}".PadRight(width) + "0".PadLeft(12) + Server5xx.ToString().PadLeft(12) + (Server5xx == 0 ? "  ok" : "  FAIL"));
        sb.AppendLine("open redirects".PadRight(width) + "0".PadLeft(12) + OpenRedirects.ToString().PadLeft(12) + (OpenRedirects == 0 ? "  ok" : "  FAIL"));
        foreach (var c in Checks)
            sb.AppendLine(c.Name.PadRight(width) + c.Expected.PadLeft(12) + c.Actual.PadLeft(12) + (c.Ok ? "  ok" : "  FAIL"));
        sb.AppendLine();
        sb.Append(Tally.ViolationReport());
        sb.AppendLine(Passed ? "RESULT: PASS" : "RESULT: FAIL");
        return sb.ToString();
    }
}

/// Setup, the run, the checks: what the console tool and the integration test both call.
public static class AbuseSuite
{
    public static async Task<AbuseOutcome> RunAsync(AbuseOptions o, TextWriter log, CancellationToken ct = default)
    {
        var tally = new AbuseTally();
        var endPoint = await ResolveAsync(o.BaseUri);
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();

        AbuseRunner? runner = null;
        var setup = new AbuseSetup(o.BaseUri, o.AdminKey, tally, log);
        var target = await setup.RunAsync(o.Seed, t =>
        {
            runner = new AbuseRunner(endPoint, t, tally);
            RawConnection? conn = null;
            return async request => conn = await runner.ExecuteAsync(request, conn, ct);
        });

        var generator = new RequestGenerator(target);
        var only = o.Only ?? (o.Where is { } where
            ? Enumerable.Range(1, o.Requests).Where(i => generator.Next(i) is var r
                && (where == "aborted" ? r.AbortAfter >= 0 : r.Endpoint.Contains(where, StringComparison.OrdinalIgnoreCase))).ToArray()
            : null);
        var count = only?.Length ?? o.Requests;
        log.WriteLine($"run: {count:N0} requests, concurrency {o.Concurrency}");
        await runner!.RunAsync(i => generator.Next(only is null ? i : only[i - 1]), 1, count, o.Concurrency,
            done => log.WriteLine($"  {done:N0} requests, {clock.Elapsed.TotalSeconds:F0} s, 5xx {tally.Count("5xx")}, violations {tally.ViolationTotal}"), ct);
        var elapsed = clock.Elapsed;

        log.WriteLine("checks: waiting for the flushers, then comparing answers with the database");
        var checks = await new AbuseVerifier(o.BaseUri, target, tally, o.Postgres, log) { DrainTimeout = o.DrainTimeout, LedgerCheck = o.LedgerCheck }
            .RunAsync(started);
        foreach (var last in runner.ClosedAfter) log.WriteLine($"  server closed a kept-alive connection after: {last}");
        return new AbuseOutcome(o with { Requests = count }, tally, checks, elapsed, runner.Retried);
    }

    private static async Task<EndPoint> ResolveAsync(Uri uri)
    {
        var port = uri.Port;
        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip)) return new IPEndPoint(ip, port);
        var addresses = await Dns.GetHostAddressesAsync(uri.Host);
        return new IPEndPoint(addresses.OrderBy(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 0 : 1).First(), port);
    }
}
