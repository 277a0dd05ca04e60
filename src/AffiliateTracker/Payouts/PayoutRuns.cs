using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Payouts;

public sealed class PayoutRun
{
    public long Id { get; init; }
    public DateTime PeriodEnd { get; init; }
    public string Status { get; init; } = "";
    public string CreatedBy { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public string? ApprovedBy { get; init; }
    public DateTime? ApprovedAt { get; init; }
    public DateTime? CancelledAt { get; init; }
    public List<PayoutLine> Lines { get; set; } = [];
}

public sealed class PayoutLine
{
    public long Id { get; init; }
    public long RunId { get; init; }
    public long PublisherId { get; init; }
    public string PublisherName { get; init; } = "";
    public string Currency { get; init; } = "";
    public decimal Amount { get; init; }
    public string Status { get; init; } = "";
    public string? PaymentReference { get; init; }
    public DateTime? PaidAt { get; init; }
    public int Conversions { get; init; }
    public int Clawbacks { get; init; }
}

/// Payout runs: every publisher whose available balance (per currency) reaches their minimum payout gets
/// one line claiming its approved, unclaimed conversions and clawbacks. Claims are conditional UPDATEs
/// (payout_line_id IS NULL), so two runs made at once never claim a conversion twice; the line's amount
/// is the database's sum of what it actually claimed.
public sealed class PayoutRuns(NpgsqlDataSource db, TimeProvider time)
{
    public async Task<PayoutRun> CreateAsync(DateTimeOffset periodEnd, string actor)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        var runId = await conn.ExecuteScalarAsync<long>(
            "INSERT INTO payout_runs (period_end, created_by, created_at) VALUES (@end, @actor, @now) RETURNING id",
            new { end = periodEnd.UtcDateTime, actor, now }, tx);
        var candidates = await conn.QueryAsync<(long PublisherId, string Currency)>("""
            WITH avail AS (
                SELECT publisher_id, currency, payout AS amount FROM conversions
                WHERE status = 'approved' AND payout_line_id IS NULL AND status_changed_at < @end
                UNION ALL
                SELECT publisher_id, currency, -amount FROM clawbacks WHERE payout_line_id IS NULL
            )
            SELECT a.publisher_id, a.currency FROM avail a JOIN publishers p ON p.id = a.publisher_id
            WHERE p.status = 'active'
            GROUP BY a.publisher_id, a.currency, p.min_payout
            HAVING sum(a.amount) >= p.min_payout AND sum(a.amount) > 0
            ORDER BY 1, 2
            """, new { end = periodEnd.UtcDateTime }, tx);

        foreach (var (publisherId, currency) in candidates)
        {
            var lineId = await conn.ExecuteScalarAsync<long>("""
                INSERT INTO payout_lines (run_id, publisher_id, currency, amount) VALUES (@runId, @publisherId, @currency, 0) RETURNING id
                """, new { runId, publisherId, currency }, tx);
            // The claims; another run claiming at the same moment waits on the row locks, then finds them taken.
            await conn.ExecuteAsync("""
                UPDATE conversions SET payout_line_id = @lineId
                WHERE publisher_id = @publisherId AND currency = @currency AND status = 'approved'
                  AND payout_line_id IS NULL AND status_changed_at < @end;
                UPDATE clawbacks SET payout_line_id = @lineId
                WHERE publisher_id = @publisherId AND currency = @currency AND payout_line_id IS NULL;
                """, new { lineId, publisherId, currency, end = periodEnd.UtcDateTime }, tx);
            var amount = await LineSumAsync(conn, tx, lineId);
            var minPayout = await conn.ExecuteScalarAsync<decimal>("SELECT min_payout FROM publishers WHERE id = @publisherId", new { publisherId }, tx);
            if (amount < minPayout || amount <= 0)
            {
                // What was left after a concurrent run took its share is below the minimum: release it.
                await ReleaseLineAsync(conn, tx, lineId);
                await conn.ExecuteAsync("DELETE FROM payout_lines WHERE id = @lineId", new { lineId }, tx);
                continue;
            }
            await conn.ExecuteAsync("UPDATE payout_lines SET amount = @amount WHERE id = @lineId", new { amount, lineId }, tx);
        }
        await Audit(conn, tx, actor, "run_created", runId, null, $"period_end={periodEnd:O}");
        await tx.CommitAsync();
        return (await GetAsync(conn, runId, null))!;
    }

    public async Task<PayoutRun> ApproveAsync(long runId, string actor) =>
        await TransitionAsync(runId, actor, "run_approved", """
            UPDATE payout_runs SET status = 'approved', approved_by = @actor, approved_at = @now WHERE id = @runId AND status = 'draft'
            """, "only a draft run can be approved");

    /// Cancels a run that has paid nothing yet and releases everything it claimed.
    public async Task<PayoutRun> CancelAsync(long runId, string actor)
    {
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        var rows = await conn.ExecuteAsync("""
            UPDATE payout_runs SET status = 'cancelled', cancelled_at = @now
            WHERE id = @runId AND status IN ('draft', 'approved')
              AND NOT EXISTS (SELECT 1 FROM payout_lines WHERE run_id = @runId AND status = 'paid')
            """, new { runId, now = time.GetUtcNow().UtcDateTime }, tx);
        if (rows == 0) throw await Refusal(conn, tx, runId, "only a draft or approved run with no paid line can be cancelled");
        foreach (var lineId in await conn.QueryAsync<long>("SELECT id FROM payout_lines WHERE run_id = @runId", new { runId }, tx))
            await ReleaseLineAsync(conn, tx, lineId);
        await conn.ExecuteAsync("UPDATE payout_lines SET status = 'cancelled' WHERE run_id = @runId", new { runId }, tx);
        await Audit(conn, tx, actor, "run_cancelled", runId, null, null);
        await tx.CommitAsync();
        return (await GetAsync(conn, runId, null))!;
    }

    /// Marks one line of an approved run paid with the payment's reference; the run is paid with its last line.
    public async Task<PayoutRun> MarkPaidAsync(long runId, long lineId, string reference, string actor)
    {
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        var now = time.GetUtcNow().UtcDateTime;
        var rows = await conn.ExecuteAsync("""
            UPDATE payout_lines l SET status = 'paid', payment_reference = @reference, paid_at = @now, paid_by = @actor
            FROM payout_runs r
            WHERE l.id = @lineId AND l.run_id = @runId AND r.id = l.run_id AND r.status = 'approved' AND l.status = 'open'
            """, new { runId, lineId, reference, now, actor }, tx);
        if (rows == 0) throw await Refusal(conn, tx, runId, "only an open line of an approved run can be marked paid", lineId);
        await conn.ExecuteAsync("""
            UPDATE payout_runs SET status = 'paid'
            WHERE id = @runId AND NOT EXISTS (SELECT 1 FROM payout_lines WHERE run_id = @runId AND status = 'open')
            """, new { runId }, tx);
        await Audit(conn, tx, actor, "line_paid", runId, lineId, $"reference={reference}");
        await tx.CommitAsync();
        return (await GetAsync(conn, runId, null))!;
    }

    public static async Task<PayoutRun?> GetAsync(NpgsqlConnection conn, long runId, long? publisherScope)
    {
        var run = await conn.QuerySingleOrDefaultAsync<PayoutRun>("SELECT * FROM payout_runs WHERE id = @runId", new { runId });
        if (run is null) return null;
        run.Lines = (await conn.QueryAsync<PayoutLine>("""
            SELECT l.id, l.run_id, l.publisher_id, p.name AS publisher_name, l.currency, l.amount, l.status, l.payment_reference, l.paid_at,
                   (SELECT count(*) FROM conversions c WHERE c.payout_line_id = l.id)::int AS conversions,
                   (SELECT count(*) FROM clawbacks k WHERE k.payout_line_id = l.id)::int AS clawbacks
            FROM payout_lines l JOIN publishers p ON p.id = l.publisher_id
            WHERE l.run_id = @runId AND (@publisherScope::bigint IS NULL OR l.publisher_id = @publisherScope)
            ORDER BY l.publisher_id, l.currency
            """, new { runId, publisherScope })).ToList();
        return run;
    }

    private async Task<PayoutRun> TransitionAsync(long runId, string actor, string action, string sql, string rule)
    {
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        if (await conn.ExecuteAsync(sql, new { runId, actor, now = time.GetUtcNow().UtcDateTime }, tx) == 0)
            throw await Refusal(conn, tx, runId, rule);
        await Audit(conn, tx, actor, action, runId, null, null);
        await tx.CommitAsync();
        return (await GetAsync(conn, runId, null))!;
    }

    private static async Task<ApiException> Refusal(NpgsqlConnection conn, NpgsqlTransaction tx, long runId, string rule, long? lineId = null)
    {
        var status = await conn.QuerySingleOrDefaultAsync<string>("SELECT status FROM payout_runs WHERE id = @runId", new { runId }, tx);
        if (status is null) return ApiException.NotFound("Payout run");
        if (lineId is { } l && await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM payout_lines WHERE id = @l AND run_id = @runId", new { l, runId }, tx) == 0)
            return ApiException.NotFound("Payout line");
        return new ApiException(409, "invalid_state", $"The run is {status}: {rule}.");
    }

    /// The line's amount: its conversions' payouts less its clawbacks, summed by the database.
    internal static Task<decimal> LineSumAsync(NpgsqlConnection conn, NpgsqlTransaction tx, long lineId) =>
        conn.ExecuteScalarAsync<decimal>("""
            SELECT coalesce((SELECT sum(payout) FROM conversions WHERE payout_line_id = @lineId), 0)
                 - coalesce((SELECT sum(amount) FROM clawbacks WHERE payout_line_id = @lineId), 0)
            """, new { lineId }, tx);

    private static Task ReleaseLineAsync(NpgsqlConnection conn, NpgsqlTransaction tx, long lineId) =>
        conn.ExecuteAsync("""
            UPDATE conversions SET payout_line_id = NULL WHERE payout_line_id = @lineId;
            UPDATE clawbacks SET payout_line_id = NULL WHERE payout_line_id = @lineId;
            """, new { lineId }, tx);

    private Task Audit(NpgsqlConnection conn, NpgsqlTransaction tx, string actor, string action, long? runId, long? lineId, string? detail) =>
        conn.ExecuteAsync("INSERT INTO money_audit (at, actor, action, run_id, line_id, detail) VALUES (@at, @actor, @action, @runId, @lineId, @detail)",
            new { at = time.GetUtcNow().UtcDateTime, actor, action, runId, lineId, detail }, tx);
}
