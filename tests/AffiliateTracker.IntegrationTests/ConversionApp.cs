using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AffiliateTracker.Conversions;
using Dapper;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AffiliateTracker.IntegrationTests;

/// A clock the tests move by hand, to walk through attribution windows and hold periods.
public sealed class ManualClock : TimeProvider
{
    private long _ticks = DateTimeOffset.UtcNow.UtcTicks;
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// The tracker with a manual clock and its own Redis keys; the hold worker runs only when a test calls it.
public class ConversionApp : TrackerApp
{
    private readonly string _prefix = $"cv{Guid.NewGuid():N}:";
    public ManualClock Clock { get; } = new();
    protected virtual bool DeliversPublisherPostbacks => false;
    protected override string KeyPrefix => _prefix;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Conversions:MinTimeToConvert", "00:00:10");
        builder.UseSetting("Conversions:HoldCheckInterval", "01:00:00");
        builder.UseSetting("Conversions:FlushIdleDelay", "00:00:00.050");
        // Only one app delivers publisher postbacks: each app has its own manual clock, and a sender on another
        // app's clock (days ahead after a hold test) would claim this app's deliveries and schedule their
        // retries on its own time.
        builder.UseSetting("PublisherPostbacks:Enabled", DeliversPublisherPostbacks ? "true" : "false");
        builder.UseSetting("PublisherPostbacks:AllowPrivateAddresses", "true");
        builder.UseSetting("PublisherPostbacks:BaseDelay", "00:00:01");
        builder.UseSetting("PublisherPostbacks:PollInterval", "00:00:00.100");
        builder.UseSetting("PublisherPostbacks:Timeout", "00:00:02");
        builder.ConfigureServices(s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(Clock)));
    }

    /// A click on the network's link, then the clock moved a minute on (a human takes that long to buy).
    public async Task<string> ClickAndWaitAsync(Network n, string query = "?sub1=s-one&sub2=s-two", string ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")
    {
        var id = ClickIdOf(await ClickAsync($"/c/{n.LinkCode}{query}", ua + " " + Guid.NewGuid().ToString("N")));
        Clock.Advance(TimeSpan.FromMinutes(1));
        return id;
    }

    public async Task<(int Status, JsonObject Body)> PostbackAsync(string query)
    {
        var r = await Browser().GetAsync("/postback?" + query);
        return ((int)r.StatusCode, (await r.Content.ReadFromJsonAsync<JsonObject>())!);
    }

    /// Waits (bounded) until the conversion is in PostgreSQL with the wanted status.
    public async Task<ConversionRow> WaitForConversionAsync(string id, string? status = null)
    {
        await using var conn = await DbAsync();
        // A deadline, not a number of tries: on a loaded two-core machine a flush pass may take seconds.
        for (var deadline = DateTime.UtcNow.AddSeconds(45); DateTime.UtcNow < deadline;)
        {
            var row = await conn.QuerySingleOrDefaultAsync<ConversionRow>("SELECT * FROM conversions WHERE id = @id", new { id });
            if (row is not null && (status is null || row.Status == status)) return row;
            await Task.Delay(50);
        }
        throw new TimeoutException($"Conversion {id} never reached PostgreSQL{(status is null ? "" : $" as {status}")}");
    }

    public static async Task<long> CountAsync(string sql, object args)
    {
        await using var conn = await DbAsync();
        return await conn.ExecuteScalarAsync<long>(sql, args);
    }

    /// The postback log's entries for a filter, waiting (bounded) for the first: a postback never waits for its log entry.
    public async Task<JsonArray> PostbackLogAsync(string filter)
    {
        var admin = await AdminAsync();
        JsonArray log = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(45); DateTime.UtcNow < deadline && log.Count == 0;)
        {
            // A postback that created a conversion is logged by the conversion.
            await Service<PostbackLog>().FlushOnceAsync(TimeSpan.FromMinutes(5));
            await FlushAsync();
            log = (await admin.GetFromJsonAsync<JsonArray>($"/api/v1/postback-log?{filter}"))!;
            if (log.Count == 0) await Task.Delay(50);
        }
        return log;
    }

    public Task FlushAsync() => Service<ConversionFlusher>().FlushOnceAsync(TimeSpan.FromMinutes(5));
}
