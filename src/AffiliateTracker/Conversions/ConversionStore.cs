using AffiliateTracker.Clicks;
using AffiliateTracker.Network;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace AffiliateTracker.Conversions;

/// Writes conversion events to PostgreSQL. New conversions go in as one batch (binary COPY, or INSERT .. ON CONFLICT
/// DO NOTHING for a batch PostgreSQL partly holds); each is the first entry of its own status history. Status changes
/// are conditional UPDATEs with a history row. History rows and queued publisher postbacks are keyed by event id, so a
/// re-delivered event changes nothing.
public sealed class ConversionStore(NpgsqlDataSource db, NetworkCache network)
{
    /// A status change or a confirmation, in stream order (a confirmation comes before the approval it allows).
    public sealed record Change(string ConversionId, ConversionStatusChanged? Event, ConversionConfirmed? Confirmation = null)
    {
        public DateTimeOffset At => Event?.At ?? Confirmation!.At;
        public (long? OfferId, string? Goal, string? DedupeKey) Key =>
            Event is { } e ? (e.OfferId, e.Goal, e.DedupeKey) : (Confirmation!.OfferId, Confirmation.Goal, Confirmation.DedupeKey);
    }
    public sealed record Kept(ConversionCreated Create, string KeptId, string KeptStatus);
    public sealed record Result(List<Change> Missing, List<Kept> Conflicts);

    /// Applies a batch in one transaction. Returns the changes whose conversion is not in PostgreSQL yet
    /// (its creation is still on its way; the caller leaves those for a later pass), and the creations
    /// PostgreSQL already held under another id.
    public async Task<Result> ApplyAsync(IReadOnlyList<ConversionCreated> creates, IReadOnlyList<Change> changes, DateTimeOffset now)
    {
        var conflicts = new List<Kept>();
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        var snapshot = network.Current;
        var pending = changes.ToList();
        if (creates.Count > 0)
        {
            // The click's traffic details, for reports by device, browser and network without a join. The click is
            // almost always in PostgreSQL by now (it flushes within a second of the redirect); if not, they stay unknown.
            // Read first and written with the row: an UPDATE after the COPY wrote every conversion and its index entries twice.
            var inserted = await InsertAsync(conn, tx, creates, await TrafficOfClicksAsync(conn, tx, creates));
            await PublisherPostbackOutbox.EnqueueAsync(conn, tx, snapshot,
                creates.Where(c => inserted.Contains(c.Id)).Select(c => (c.EventId, ConversionRow.From(c))), now);

            // Already there under another id (its Redis record was lost and made again): a status it carries is a
            // change, and Redis must learn the id PostgreSQL kept. (Under the same id it is a redelivery: nothing to do.)
            foreach (var c in creates.Where(c => !inserted.Contains(c.Id)))
            {
                var k = await conn.QuerySingleOrDefaultAsync<ConversionRow>(
                    "SELECT * FROM conversions WHERE offer_id = @OfferId AND goal = @Goal AND dedupe_key = @DedupeKey", c, tx);
                if (k is null || k.Id == c.Id) continue;
                conflicts.Add(new Kept(c, k.Id, k.Status));
                await LogRecreatedAsync(conn, tx, c, k.Id);
                if (c.Status != ConversionStatus.Pending)
                    pending.Add(new Change(k.Id, new ConversionStatusChanged(c.EventId, c.Status, c.Actor, c.Reason, c.CreatedAt)));
            }
        }

        var missing = new List<Change>();
        foreach (var change in pending)
        {
            var id = change.ConversionId;
            // The id Redis gave may not be the one PostgreSQL kept; the dedupe key finds the conversion either way.
            var (offerId, goal, key) = change.Key;
            if (offerId is not null && await conn.QuerySingleOrDefaultAsync<string>(
                    "SELECT id FROM conversions WHERE offer_id = @offerId AND goal = @goal AND dedupe_key = @key",
                    new { offerId, goal, key }, tx) is { } kept)
                id = kept;
            var applied = change.Event is { } e
                ? await ApplyChangeAsync(conn, tx, snapshot, id, e, now)
                : await ApplyConfirmationAsync(conn, tx, id, change.Confirmation!);
            if (applied is Applied.Missing) missing.Add(change);
        }
        await tx.CommitAsync();
        return new Result(missing, conflicts);
    }

    /// A created conversion is its postback's log entry (the postback_log_entries view). One PostgreSQL already held under
    /// another id is not written, so its postback goes to postback_log, pointing at the conversion that was kept.
    private static Task LogRecreatedAsync(NpgsqlConnection conn, NpgsqlTransaction tx, ConversionCreated c, string keptId) =>
        conn.ExecuteAsync($"""
            INSERT INTO postback_log ({PostbackLog.Columns})
            VALUES (@EventId, @CreatedAt, @Via, @AdvertiserId, @OfferId, @ClickId, @Txid, @Goal, 'created', 200,
                    @message, @keptId, @PostbackIp::inet, @PostbackQuery)
            ON CONFLICT (event_id) DO NOTHING
            """, new { c.EventId, CreatedAt = c.CreatedAt.UtcDateTime, c.Via, c.AdvertiserId, c.OfferId, c.ClickId, c.Txid, c.Goal,
                       message = $"Conversion recorded as {c.Id}, which the tracker already held as {keptId}.", keptId, c.PostbackIp, c.PostbackQuery }, tx);

    public enum Applied { Changed, NoChange, Missing }

    /// One conditional status change with its history row and publisher postback.
    /// A flagged conversion is approved only by a reviewer (an admin); anyone entitled may reject it.
    public static async Task<Applied> ApplyChangeAsync(NpgsqlConnection conn, NpgsqlTransaction tx, NetworkSnapshot snapshot,
        string conversionId, ConversionStatusChanged change, DateTimeOffset now, bool reviewer = false)
    {
        var row = await conn.QuerySingleOrDefaultAsync<ConversionRow>($"""
            WITH old AS (SELECT id, status FROM conversions WHERE id = @conversionId FOR UPDATE),
            upd AS (
                UPDATE conversions c SET status = @to, status_changed_at = @at,
                    -- An approval by the advertiser or an admin is the confirmation a browser-reported conversion waited for.
                    awaiting_confirmation = c.awaiting_confirmation AND @to <> 'approved'
                FROM old WHERE c.id = old.id AND old.status = ANY(@from)
                  AND {ConversionRules.ChangeAllowedSql}
                RETURNING c.*, old.status AS from_status
            ), hist AS (
                INSERT INTO conversion_status_history (event_id, conversion_id, from_status, to_status, actor, reason, changed_at)
                SELECT @eventId, id, from_status, @to, @actor, @reason, @at FROM upd
                ON CONFLICT (event_id) DO NOTHING
            )
            SELECT * FROM upd
            """, new { conversionId, to = change.To, at = change.At.UtcDateTime, from = ConversionStatus.AllowedFrom(change.To),
                       eventId = change.EventId, actor = change.Actor, reason = change.Reason, reviewer }, tx);
        if (row is null)
            return await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM conversions WHERE id = @conversionId", new { conversionId }, tx) == 0
                ? Applied.Missing : Applied.NoChange;
        await PublisherPostbackOutbox.EnqueueAsync(conn, tx, snapshot, [(change.EventId, row)], now);
        return Applied.Changed;
    }

    /// The advertiser's confirmation of a browser-reported conversion that is still pending: with an amount, the
    /// advertiser's amount, payout and revenue replace the browser's. The history row says what changed.
    public static async Task<Applied> ApplyConfirmationAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string conversionId, ConversionConfirmed m)
    {
        var rows = await conn.ExecuteAsync("""
            WITH old AS (SELECT id, amount, payout FROM conversions WHERE id = @conversionId FOR UPDATE),
            upd AS (
                UPDATE conversions c SET awaiting_confirmation = false,
                    amount = CASE WHEN @payout::numeric IS NULL THEN c.amount ELSE @amount END,
                    original_amount = CASE WHEN @payout::numeric IS NULL THEN c.original_amount ELSE @originalAmount END,
                    original_currency = CASE WHEN @payout::numeric IS NULL THEN c.original_currency ELSE @originalCurrency END,
                    payout = coalesce(@payout, c.payout), revenue = coalesce(@revenue, c.revenue)
                FROM old WHERE c.id = old.id AND c.awaiting_confirmation AND c.status = 'pending'
                RETURNING c.id, c.status, c.amount, c.payout, old.amount AS old_amount, old.payout AS old_payout
            )
            INSERT INTO conversion_status_history (event_id, conversion_id, from_status, to_status, actor, reason, changed_at)
            SELECT @eventId, id, status, status, @actor,
                   CASE WHEN @payout::numeric IS NULL THEN 'confirmed by the advertiser as reported'
                        ELSE format('confirmed by the advertiser: amount %s -> %s, payout %s -> %s',
                                    coalesce(old_amount::text, 'none'), coalesce(amount::text, 'none'), old_payout, payout) END,
                   @at
            FROM upd
            ON CONFLICT (event_id) DO NOTHING
            """, new { conversionId, m.Amount, m.OriginalAmount, m.OriginalCurrency, m.Payout, m.Revenue, m.EventId, m.Actor,
                       at = m.At.UtcDateTime }, tx);
        if (rows > 0) return Applied.Changed;
        return await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM conversions WHERE id = @conversionId", new { conversionId }, tx) == 0
            ? Applied.Missing : Applied.NoChange;
    }

    /// New conversions. Fast path: binary COPY straight into the table under a savepoint. A re-delivered batch (or
    /// one whose conversion PostgreSQL already holds under another id) breaks a unique key there; then the batch goes
    /// through a staging table and INSERT .. ON CONFLICT DO NOTHING, which keeps what is already there. Returns the ids
    /// this call inserted.
    internal static async Task<HashSet<string>> InsertAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<ConversionCreated> creates,
        IReadOnlyDictionary<string, TrafficDetails>? traffic = null)
    {
        await tx.SaveAsync("direct_copy");
        try
        {
            await ConversionCopy.WriteAsync(conn, "conversions", creates, traffic);
            await tx.ReleaseAsync("direct_copy");
            return creates.Select(c => c.Id).ToHashSet();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await tx.RollbackAsync("direct_copy");
        }
        await using (var cmd = new NpgsqlCommand(StagingSql, conn, tx)) await cmd.ExecuteNonQueryAsync();
        await ConversionCopy.WriteAsync(conn, "conversion_staging", creates, traffic);
        var inserted = new HashSet<string>();
        await using (var cmd = new NpgsqlCommand(MergeSql, conn, tx))
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) inserted.Add(reader.GetString(0));
        return inserted;
    }

    /// The traffic details of the batch's clicks that PostgreSQL holds, by click id.
    private static async Task<Dictionary<string, TrafficDetails>> TrafficOfClicksAsync(NpgsqlConnection conn, NpgsqlTransaction tx,
        IReadOnlyList<ConversionCreated> creates)
    {
        var found = new Dictionary<string, TrafficDetails>();
        await using var cmd = new NpgsqlCommand(TrafficOfClicksSql, conn, tx);
        cmd.Parameters.AddWithValue("ids", creates.Select(c => c.ClickId).ToArray());
        cmd.Parameters.AddWithValue("ats", creates.Select(c => c.ClickCreatedAt.UtcDateTime).ToArray());
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            if (reader.IsDBNull(1)) continue;
            found[reader.GetString(0)] = new TrafficDetails(reader.GetString(1), Text(reader, 2), Text(reader, 3), Text(reader, 4),
                reader.IsDBNull(5) ? null : reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetBoolean(6));
        }
        return found;

        static string? Text(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
    }

    // One primary-key probe per click (LATERAL .. LIMIT 1). As a plain join, a batch large beside the clicks table the
    // planner believed in (a young database, a new month's partition) made it sort the whole table on every flush.
    private const string TrafficOfClicksSql = """
        SELECT c.click_id, k.device_type, k.os, k.os_version, k.browser, k.asn, k.is_datacenter
        FROM unnest(@ids::text[], @ats::timestamptz[]) AS c(click_id, created_at)
        CROSS JOIN LATERAL (
            SELECT device_type, os, os_version, browser, asn, is_datacenter FROM clicks k
            WHERE k.click_id = c.click_id AND k.created_at = c.created_at LIMIT 1) k
        """;

    private const string StagingSql = """
        CREATE TEMP TABLE conversion_staging (LIKE conversions INCLUDING DEFAULTS) ON COMMIT DROP
        """;
    // DISTINCT ON: should one batch hold the same conversion twice, the first one wins, as in Redis.
    private const string MergeSql = $"""
        INSERT INTO conversions ({ConversionCopy.Columns})
        SELECT DISTINCT ON (offer_id, goal, dedupe_key) {ConversionCopy.Columns} FROM conversion_staging ORDER BY offer_id, goal, dedupe_key, id
        ON CONFLICT DO NOTHING
        RETURNING id
        """;
}
