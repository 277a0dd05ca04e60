using AffiliateTracker.Storage;
using AffiliateTracker.Network;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AffiliateTracker.Conversions;

/// Approves pending conversions whose hold has ended, unless the offer needs manual approval, the
/// conversion is flagged for review, or a browser reported it and the advertiser has not confirmed it. The claim is one conditional UPDATE over rows locked with
/// SKIP LOCKED, so any number of instances run this without approving a conversion twice.
public sealed class HoldWorker(
    NpgsqlDataSource db, NetworkCache network, ConversionRecorder recorder, IOptions<ConversionOptions> options,
    ILogger<HoldWorker> log, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await ApproveDueAsync() == BatchSize) { }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // A worker never takes the server down; redirects and postbacks go on.
                log.LogError(e, "Hold release pass failed; retrying");
            }
            try { await Task.Delay(options.Value.HoldCheckInterval, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    private const int BatchSize = 500;

    /// One pass: approves up to BatchSize due conversions, returns how many.
    public async Task<int> ApproveDueAsync()
    {
        var now = time.UtcNowForStorage();
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        var approved = (await conn.QueryAsync<ConversionRow>($"""
            WITH due AS (
                SELECT c.id FROM conversions c JOIN offers o ON o.id = c.offer_id
                WHERE c.status = 'pending' AND c.hold_until <= @now AND NOT o.manual_approval AND {ConversionRules.HoldMayApproveSql}
                ORDER BY c.hold_until
                LIMIT @limit
                FOR UPDATE OF c SKIP LOCKED
            ), upd AS (
                UPDATE conversions c SET status = 'approved', status_changed_at = @now
                FROM due WHERE c.id = due.id AND c.status = 'pending'
                RETURNING c.*
            ), hist AS (
                INSERT INTO conversion_status_history (event_id, conversion_id, from_status, to_status, actor, reason, changed_at)
                SELECT gen_random_uuid(), id, 'pending', 'approved', 'system:hold', 'hold period ended', @now FROM upd
            )
            SELECT * FROM upd
            """, new { now = now.UtcDateTime, limit = BatchSize }, tx)).ToList();
        await PublisherPostbackOutbox.EnqueueAsync(conn, tx, network.Current, approved.Select(c => (EventIds.New(now), c)), now);
        await tx.CommitAsync();

        foreach (var c in approved)
            await recorder.RememberStatusAsync(c.OfferId, c.Goal, c.DedupeKey, c.Id, ConversionStatus.Pending, c.Status, reviewed: false);
        if (approved.Count > 0) log.LogInformation("Approved {Count} conversions whose hold ended", approved.Count);
        return approved.Count;
    }
}
