using AffiliateTracker.Abuse;
using AffiliateTracker.Access;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit.Abstractions;

namespace AffiliateTracker.IntegrationTests;

/// The tracker on a real Kestrel port: the abuse suite sends raw bytes (malformed request lines, raw
/// non-ASCII, broken framing) that the in-memory test server would never see.
public sealed class KestrelTrackerApp : TrackerApp
{
    public KestrelTrackerApp() => UseKestrel(0);

    public Uri BaseUri => new(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public async Task<string> IssueAdminKeyAsync()
    {
        await using var conn = await Service<NpgsqlDataSource>().OpenConnectionAsync();
        return (await ApiKeys.IssueAsync(conn, "admin", null, null, "abuse suite")).Secret;
    }
}

/// The short variant of tests/abuse (the README there has the 100,000-request run): the same
/// seeded generator and checks, a few thousand requests against the in-process server.
public sealed class AbuseTests(KestrelTrackerApp app, ITestOutputHelper output) : IClassFixture<KestrelTrackerApp>
{
    [Fact]
    public async Task Thousands_of_hostile_requests_get_no_5xx_no_open_redirect_and_leave_no_partial_write()
    {
        var log = new StringWriter();
        var outcome = await AbuseSuite.RunAsync(new AbuseOptions(app.BaseUri, await app.IssueAdminKeyAsync())
        {
            Requests = 3_000,
            Concurrency = 8,
            Seed = 20261122,
            Postgres = TrackerApp.PostgresConnection,
            // Other test classes share the database and may be half way through a payout run.
            LedgerCheck = false,
            DrainTimeout = TimeSpan.FromSeconds(60),
        }, log);
        output.WriteLine(log.ToString());
        output.WriteLine(outcome.Report());

        Assert.Equal(0, outcome.Server5xx);
        Assert.Equal(0, outcome.OpenRedirects);
        Assert.Empty(outcome.Checks.Where(c => !c.Ok).Select(c => $"{c.Name}: expected {c.Expected}, got {c.Actual}"));
        Assert.Empty(outcome.Tally.ViolationCounts.Select(v => $"{v.Key}: {v.Value}"));
        Assert.True(outcome.Tally.Total >= 3_000);
    }
}
