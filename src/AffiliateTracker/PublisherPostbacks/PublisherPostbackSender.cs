using AffiliateTracker.Conversions;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AffiliateTracker.Network;
using AffiliateTracker.Observability;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AffiliateTracker.PublisherPostbacks;

/// Delivers queued publisher postbacks: claims due rows (SKIP LOCKED, so instances share the work),
/// calls each URL, logs every attempt, retries timeouts and 5xx with exponential backoff, and pauses a
/// publisher's postbacks after repeated failures, recording why.
public sealed class PublisherPostbackSender(
    NpgsqlDataSource db, IHttpClientFactory http, NetworkCache network, IOptions<PublisherPostbackOptions> options,
    ILogger<PublisherPostbackSender> log, TimeProvider time, TrackerMetrics metrics) : BackgroundService
{
    public const string HttpClientName = "publisher-postbacks";
    private readonly PublisherPostbackOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            var sent = 0;
            try { sent = await SendDueAsync(stoppingToken); }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                metrics.StoreError(e, "publisher_postbacks");
                log.LogError(e, "Publisher postback pass failed; retrying");
            }
            if (sent > 0) continue;
            try { await Task.Delay(_options.PollInterval, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    public async Task<int> SendDueAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        List<Due> due;
        await using (var conn = await db.OpenConnectionAsync(ct))
        {
            // The claim's lease runs on the database's clock, the one clock all instances share; when a
            // retry is due is business time (TimeProvider).
            due = (await conn.QueryAsync<Due>("""
                UPDATE publisher_postbacks p SET locked_until = clock_timestamp() + @lease, attempts = attempts + 1
                WHERE p.id IN (
                    SELECT id FROM publisher_postbacks
                    WHERE state = 'pending' AND next_attempt_at <= @now AND (locked_until IS NULL OR locked_until < clock_timestamp())
                    ORDER BY next_attempt_at LIMIT 50
                    FOR UPDATE SKIP LOCKED)
                RETURNING p.id, p.publisher_id, p.conversion_id, p.url, p.attempts
                """, new { now = now.UtcDateTime, lease = _options.Timeout * 2 })).ToList();
        }
        await Task.WhenAll(due.Select(d => DeliverAsync(d, ct)));
        return due.Count;
    }

    private async Task DeliverAsync(Due d, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        int? code = null;
        string? error = null;
        // The span names the publisher's host, never the URL: its query may hold the publisher's own secrets.
        using var span = Observability.Telemetry.Source.StartActivity("publisher postback", ActivityKind.Client);
        span?.SetTag("at.publisher_id", d.PublisherId).SetTag("server.address", Uri.TryCreate(d.Url, UriKind.Absolute, out var u) ? u.Host : null);
        try
        {
            using var response = await http.CreateClient(HttpClientName).GetAsync(d.Url, HttpCompletionOption.ResponseHeadersRead, ct);
            code = (int)response.StatusCode;
            span?.SetTag("http.response.status_code", code);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { error = "timeout"; }
        catch (HttpRequestException e) { error = e.InnerException?.Message ?? e.Message; }
        catch (Exception e) when (e is InvalidOperationException or UriFormatException) { error = e.Message; }

        var now = time.GetUtcNow();
        var delivered = code is >= 200 and < 300;
        var retryable = !delivered && (code is null or >= 500 or 429) && d.Attempts < _options.MaxAttempts;
        var state = delivered ? "delivered" : retryable ? "pending" : "failed";
        metrics.Delivery(delivered ? "delivered" : retryable ? "retry" : "failed");
        var delay = TimeSpan.FromTicks(Math.Min(_options.MaxDelay.Ticks, _options.BaseDelay.Ticks * (1L << Math.Min(d.Attempts - 1, 20))));

        await using var conn = await db.OpenConnectionAsync(CancellationToken.None);
        await using var tx = await conn.BeginTransactionAsync(CancellationToken.None);
        await conn.ExecuteAsync("""
            INSERT INTO publisher_postback_attempts (postback_id, attempted_at, status_code, error, duration_ms)
            VALUES (@Id, @now, @code, @error, @ms);
            UPDATE publisher_postbacks SET state = @state, locked_until = NULL, last_status_code = @code, last_error = @error,
                next_attempt_at = @next, delivered_at = CASE WHEN @delivered THEN @now END
            WHERE id = @Id;
            """, new { d.Id, now = now.UtcDateTime, code, error, ms = (int)sw.ElapsedMilliseconds, state, delivered,
                       next = (now + delay).UtcDateTime }, tx);
        var failures = await conn.ExecuteScalarAsync<int>(
            "UPDATE publishers SET postback_failures = CASE WHEN @delivered THEN 0 ELSE postback_failures + 1 END WHERE id = @PublisherId RETURNING postback_failures",
            new { delivered, d.PublisherId }, tx);
        var pause = !delivered && failures >= _options.PauseAfterFailures;
        if (pause)
            await conn.ExecuteAsync("""
                UPDATE publishers SET postback_paused_reason = @reason WHERE id = @PublisherId AND postback_paused_reason IS NULL
                """, new { d.PublisherId, reason = $"Paused at {now:u} after {failures} failed deliveries in a row; last: {(code is { } c ? $"HTTP {c}" : error)}. Saving a postback URL resumes delivery." }, tx);
        await tx.CommitAsync(CancellationToken.None);
        if (pause)
        {
            metrics.Delivery("paused");
            await network.ChangedAsync();
        }

        if (delivered) log.LogInformation("Publisher postback {PostbackId} for conversion {ConversionId} delivered", d.Id, d.ConversionId);
        else log.LogWarning("Publisher postback {PostbackId} for conversion {ConversionId} failed (attempt {Attempt}, {Status}); {Next}",
            d.Id, d.ConversionId, d.Attempts, code?.ToString() ?? error, state == "pending" ? $"retry in {delay}" : "giving up");
    }

    public sealed record TestFire(string Url, int? StatusCode, string? Error, int DurationMs);

    /// Sends the publisher's postback URL once with sample values (conversion "test"), through the same guarded
    /// client as real deliveries, and reports what their server answered. Nothing is queued or logged as a delivery.
    public async Task<TestFire> TestAsync(string template, long publisherId, CancellationToken ct)
    {
        var sample = new ConversionRow
        {
            Id = "test", ClickId = "test-click", OfferId = 0, PublisherId = publisherId, Goal = "sale", Txid = "test-order", Status = "approved",
            Payout = 1.23m, Currency = "USD", Sub1 = "test-sub1", Source = "test",
        };
        var url = PublisherPostbackOutbox.Expand(template, sample);
        var sw = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            using var response = await http.CreateClient(HttpClientName).GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return new TestFire(url, (int)response.StatusCode, null, (int)sw.ElapsedMilliseconds);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return new TestFire(url, null, "timeout", (int)sw.ElapsedMilliseconds); }
        catch (HttpRequestException e) { return new TestFire(url, null, e.InnerException?.Message ?? e.Message, (int)sw.ElapsedMilliseconds); }
        catch (Exception e) when (e is InvalidOperationException or UriFormatException) { return new TestFire(url, null, e.Message, (int)sw.ElapsedMilliseconds); }
    }

    private sealed class Due
    {
        public long Id { get; init; }
        public long PublisherId { get; init; }
        public string ConversionId { get; init; } = "";
        public string Url { get; init; } = "";
        public int Attempts { get; init; }
    }
}
