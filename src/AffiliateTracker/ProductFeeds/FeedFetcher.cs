using AffiliateTracker.Http;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AffiliateTracker.ProductFeeds;

/// Fetches feeds that have a source_url when they are due (every fetch_every_hours; an hour after a failure),
/// one at a time per instance; instances share the work through SKIP LOCKED. The download streams into the
/// import, through the client that refuses private addresses.
public sealed class FeedFetcher(NpgsqlDataSource db, IHttpClientFactory http, IOptions<ProductFeedOptions> options, ILogger<FeedFetcher> log)
    : BackgroundService
{
    public const string HttpClientName = "product-feeds";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await ClaimDueAsync(stoppingToken) is { } id) await FetchQuietlyAsync(id, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning(e, "Looking for product feeds to fetch failed");
            }
            try { await Task.Delay(options.Value.FetchInterval, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    private async Task<long?> ClaimDueAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.ExecuteScalarAsync<long?>("""
            UPDATE product_feeds SET fetch_attempted_at = now()
            WHERE id = (
                SELECT id FROM product_feeds
                WHERE status = 'active' AND source_url IS NOT NULL
                  AND (fetch_attempted_at IS NULL
                       OR fetch_attempted_at < now() - make_interval(hours => CASE WHEN last_error IS NULL THEN fetch_every_hours ELSE 1 END))
                ORDER BY fetch_attempted_at NULLS FIRST LIMIT 1
                FOR UPDATE SKIP LOCKED)
            RETURNING id
            """);
    }

    private async Task FetchQuietlyAsync(long id, CancellationToken ct)
    {
        try
        {
            var report = await FetchAsync(id, ct);
            log.LogInformation("Product feed {FeedId} fetched: {Products} products, {Skipped} skipped", id, report.Products, report.Skipped);
        }
        catch (ApiException e)
        {
            log.LogWarning("Product feed {FeedId} fetch refused: {Reason}", id, e.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped mid-fetch (the server is shutting down): give the claim back, so another instance fetches the
            // feed now instead of after its schedule's hours.
            await using var conn = await db.OpenConnectionAsync(CancellationToken.None);
            await conn.ExecuteAsync("UPDATE product_feeds SET fetch_attempted_at = NULL WHERE id = @id", new { id });
            throw;
        }
    }

    /// Downloads the feed's source_url and imports it; a failed download or an unreadable feed is recorded on the
    /// feed and answered as a 422 with the reason (the products stay as they were).
    public async Task<FeedImportReport> FetchAsync(long id, CancellationToken ct)
    {
        string? source;
        await using (var conn = await db.OpenConnectionAsync(ct))
            source = await conn.ExecuteScalarAsync<string?>("SELECT source_url FROM product_feeds WHERE id = @id", new { id });
        if (source is null) throw new ApiException(409, "no_source_url", "This feed is uploaded, not fetched: it has no source_url.");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.Value.FetchTimeout);
        string failure;
        try
        {
            using var response = await http.CreateClient(HttpClientName).GetAsync(source, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.IsSuccessStatusCode)
            {
                if (response.Content.Headers.ContentLength > options.Value.MaxUploadBytes)
                    failure = $"The feed is {response.Content.Headers.ContentLength} bytes, more than the {options.Value.MaxUploadBytes} allowed.";
                else
                {
                    await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
                    return await ProductFeedApi.ImportAsync(db, id, body, timeout.Token);
                }
            }
            else failure = $"The feed's server answered {(int)response.StatusCode} {response.ReasonPhrase}.";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { failure = "The fetch took too long and was stopped."; }
        catch (HttpRequestException e) { failure = $"The feed could not be fetched: {e.InnerException?.Message ?? e.Message}"; }
        catch (IOException e) { failure = $"The feed's download broke off: {e.Message}"; }
        await FeedImport.RecordFailureAsync(db, id, failure + " The previous products stay.");
        throw new ApiException(422, "feed_fetch_failed", failure + " The previous products stay.");
    }
}
