using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AffiliateTracker.IntegrationTests;

/// Every log call as text: the message, each structured field, each scope, the exception.
public sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<string> Lines => _lines;
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;
    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = new StringBuilder($"{logLevel} {category}: {formatter(state, exception)}");
            Append(line, state);
            owner._scopes.ForEachScope((scope, text) => Append(text, scope), line);
            if (exception is not null) line.Append(" | ").Append(exception);
            owner._lines.Enqueue(line.ToString());
        }

        private static void Append(StringBuilder line, object? value)
        {
            if (value is IEnumerable<KeyValuePair<string, object?>> fields)
                foreach (var (k, v) in fields) line.Append(" | ").Append(k).Append('=').Append(v);
            else line.Append(" | ").Append(value);
        }
    }
}

/// The tracker logging everything, at every level, to a capture as well as the console: what an operator
/// gets who turns logging all the way up while chasing a problem.
public sealed class LoggedApp : TrackerApp
{
    public CapturedLogs Logs { get; } = new();
    public const string MasterKeyText = "integration-tests-master-key-0123456789";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Logging:LogLevel:Default", "Trace");
        builder.UseSetting("Logging:LogLevel:Microsoft", "Trace");
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore", "Trace");
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "Trace");
        // The console stays quiet; the capture sees it all.
        builder.UseSetting("Logging:Console:LogLevel:Default", "Warning");
        builder.ConfigureLogging(l => l.AddProvider(Logs));
    }
}

public sealed class SecretLoggingTests(LoggedApp app) : IClassFixture<LoggedApp>
{
    [Fact]
    public async Task No_secret_issued_or_presented_in_a_full_flow_appears_in_any_log_line()
    {
        var secrets = new Dictionary<string, string>
        {
            ["master key"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(LoggedApp.MasterKeyText)),
            ["master key text"] = LoggedApp.MasterKeyText,
        };
        var admin = await app.AdminAsync();
        secrets["admin key"] = admin.DefaultRequestHeaders.Authorization!.Parameter!;

        // The network, through the API; the advertiser's first token comes with it.
        var created = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/advertisers", new { name = "Secretive advertiser" }));
        var advertiserId = created["id"]!.GetValue<long>();
        secrets["first postback token"] = created["postback_token"]!.GetValue<string>();
        var offerId = await app.CreateOfferAsync(advertiserId);
        var publisherId = await app.CreatePublisherAsync();
        await app.GrantAsync(offerId, publisherId);
        var code = await app.CreateLinkAsync(offerId, publisherId);
        var token = secrets["postback token"] = (await Json(admin.PostAsync($"/api/v1/advertisers/{advertiserId}/postback-token", null)))["postback_token"]!.GetValue<string>();
        var signingKey = secrets["signing key"] = (await Json(admin.PostAsync($"/api/v1/advertisers/{advertiserId}/signing-key", null)))["signing_key"]!.GetValue<string>();
        var advertiserKey = secrets["advertiser key"] = await app.IssueKeyAsync("advertiser", advertiserId: advertiserId);
        var publisherKey = secrets["publisher key"] = await app.IssueKeyAsync("publisher", publisherId: publisherId);
        var revoked = await TrackerApp.Created(admin.PostAsJsonAsync("/api/v1/api-keys", new { role = "advertiser", advertiser_id = advertiserId }));
        secrets["revoked key"] = revoked["key"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/api-keys/{revoked["id"]}")).StatusCode);
        var wrongToken = secrets["wrong postback token"] = "pbt_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var wrongKey = secrets["unknown api key"] = "atk_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

        // Clicks, and postbacks every way they come: token in the query, token in a form body, a signature,
        // a wrong token, a wrong signature, the pixel.
        var clicks = new List<string>();
        for (var i = 0; i < 5; i++) clicks.Add(TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{code}?sub1=s{i}", $"Mozilla/5.0 Firefox/130.0 secret-test-{i}")));
        foreach (var c in clicks) await TrackerApp.WaitForClickRowAsync(c);
        var browser = app.Browser();
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"/postback?click_id={clicks[0]}&txid=q-1&token={token}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.PostAsync("/postback",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["click_id"] = clicks[1], ["txid"] = "f-1", ["token"] = token }))).StatusCode);
        var signedQuery = $"click_id={clicks[2]}&txid=s-1";
        var signed = new HttpRequestMessage(HttpMethod.Get, "/postback?" + signedQuery);
        signed.Headers.Add("X-Signature", "sha256=" + Convert.ToHexString(HMACSHA256.HashData(Encoding.ASCII.GetBytes(signingKey), Encoding.UTF8.GetBytes(signedQuery))));
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(signed)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync($"/postback?click_id={clicks[3]}&txid=w-1&token={wrongToken}")).StatusCode);
        var forged = new HttpRequestMessage(HttpMethod.Get, $"/postback?click_id={clicks[3]}&txid=w-2");
        forged.Headers.Add("X-Signature", "sha256=" + new string('0', 64));
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.SendAsync(forged)).StatusCode);
        var pixel = new HttpRequestMessage(HttpMethod.Get, $"/pixel?offer_id={offerId}&txid=p-1");
        pixel.Headers.Add("Cookie", $"atc_{offerId}={clicks[4]}");
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(pixel)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"/postback?click_id={clicks[0]}&txid=q-1&status=rejected&token={token}")).StatusCode);

        // Management calls with each key, good and bad, in both headers.
        Assert.Equal(HttpStatusCode.OK, (await app.WithKey(advertiserKey).GetAsync("/api/v1/conversions")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.WithKey(publisherKey).GetAsync("/api/v1/offers")).StatusCode);
        var viaHeader = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        viaHeader.Headers.Add("X-Api-Key", advertiserKey);
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(viaHeader)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.WithKey(secrets["revoked key"]).GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.WithKey(wrongKey).GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await app.WithKey(publisherKey).GetAsync("/api/v1/api-keys")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/postback-log?offer_id={offerId}")).StatusCode);

        // Let the flushers write the conversions and the postback log (and log whatever they log).
        Assert.Equal(4, await TrackerApp.WaitForRowCountAsync("SELECT count(*) FROM conversions WHERE offer_id = @offerId", new { offerId }, 4));
        Assert.Equal(7, await TrackerApp.WaitForRowCountAsync("SELECT count(*) FROM postback_log_entries WHERE offer_id = @offerId", new { offerId }, 7));

        var lines = app.Logs.Lines.ToList();
        // The capture is live: it saw these very requests (paths are logged; the click ids are in them).
        Assert.Contains(lines, l => l.Contains("/api/v1/postback-log"));
        Assert.Contains(lines, l => l.Contains(code));
        Assert.Contains(lines, l => l.StartsWith("Debug Microsoft.AspNetCore.Routing"));
        var leaks = (from l in lines from s in secrets where l.Contains(s.Value) select $"{s.Key} in: {Shorten(l)}").ToList();
        Assert.True(leaks.Count == 0, $"{leaks.Count} of {lines.Count} log lines hold a secret:\n" + string.Join("\n", leaks.Take(20)));
    }

    private static async Task<JsonObject> Json(Task<HttpResponseMessage> call)
    {
        var response = await call;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static string Shorten(string line) => line.Length <= 400 ? line : line[..400] + "…";
}
