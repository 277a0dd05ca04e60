using System.Globalization;
using AffiliateTracker.Conversions;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using AffiliateTracker.Storage;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace AffiliateTracker.Reconciliation;

public sealed record MalformedLine(int Line, string Problem);

public sealed class ReconciliationSummary
{
    public long Id { get; init; }
    public long AdvertiserId { get; init; }
    public long? OfferId { get; init; }
    public DateTime? PeriodFrom { get; init; }
    public DateTime? PeriodTo { get; init; }
    public int RowsRead { get; init; }
    public int RowsMalformed { get; init; }
    public DateTime? AppliedAt { get; init; }
    public int? AppliedChanges { get; init; }
    public Dictionary<string, long> Counts { get; set; } = [];
    public List<MalformedLine> Malformed { get; set; } = [];
}

public sealed class ReconciliationItem
{
    public string Kind { get; init; } = "";
    public int? LineNo { get; init; }
    public string Txid { get; init; } = "";
    public string? ConversionId { get; init; }
    public string? OurStatus { get; init; }
    public string? TheirStatus { get; init; }
    public decimal? OurAmount { get; init; }
    public decimal? TheirAmount { get; init; }
}

/// Compares an advertiser's report (CSV: txid, status, amount, optional date) with the conversions we
/// recorded: matched, status differs, amount differs, only in their report, only in ours. The file is
/// streamed into PostgreSQL by binary COPY as it is read, so 100k rows never sit in memory.
public sealed class ReconciliationService(NpgsqlDataSource db, NetworkCache network, ConversionRecorder recorder, TimeProvider time)
{
    public const int MaxListedMalformed = 200;
    public static readonly string[] Kinds = ["matched", "status_differs", "amount_differs", "only_theirs", "only_ours"];

    public async Task<ReconciliationSummary> UploadAsync(Stream csv, long advertiserId, long? offerId, DateTime? from, DateTime? to, string actor)
    {
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        var id = await conn.ExecuteScalarAsync<long>("""
            INSERT INTO reconciliations (advertiser_id, offer_id, period_from, period_to, uploaded_by, created_at)
            VALUES (@advertiserId, @offerId, @from, @to, @actor, @now) RETURNING id
            """, new { advertiserId, offerId, from, to, actor, now = time.GetUtcNow().UtcDateTime }, tx);

        var malformed = new List<MalformedLine>();
        int read = 0, bad = 0;
        DateTime? minDate = null, maxDate = null;
        using var reader = new StreamReader(csv);
        var header = await reader.ReadLineAsync() ?? throw new ApiException(400, "empty_report", "The report is empty.");
        var fields = new List<string>();
        if (!CsvLine.TrySplit(header.TrimStart('\uFEFF'), fields, out _)) throw new ApiException(400, "bad_header", "Line 1 is not a CSV header.");
        var columns = fields.Select(f => f.Trim().ToLowerInvariant()).ToList();
        int Col(string name, params string[] aliases) => columns.FindIndex(c => c == name || aliases.Contains(c));
        int txidCol = Col("txid", "order_id", "transaction_id"), statusCol = Col("status"), amountCol = Col("amount", "sale_amount"), dateCol = Col("date", "created_at");
        if (txidCol < 0 || statusCol < 0)
            throw new ApiException(400, "bad_header", "The header must name at least txid and status (amount and date are optional).");

        await using (var copy = await conn.BeginBinaryImportAsync(
            "COPY reconciliation_rows (reconciliation_id, line_no, txid, status, amount, reported_at) FROM STDIN (FORMAT BINARY)"))
        {
            var lineNo = 1;
            while (await reader.ReadLineAsync() is { } line)
            {
                lineNo++;
                if (line.Length == 0) continue;
                read++;
                var problem = Parse(line, fields, txidCol, statusCol, amountCol, dateCol, out var txid, out var status, out var amount, out var date);
                if (problem is not null)
                {
                    bad++;
                    if (malformed.Count < MaxListedMalformed) malformed.Add(new MalformedLine(lineNo, problem));
                    continue;
                }
                if (date is { } d) { minDate = minDate is null || d < minDate ? d : minDate; maxDate = maxDate is null || d > maxDate ? d : maxDate; }
                await copy.StartRowAsync();
                await copy.WriteAsync(id, NpgsqlDbType.Bigint);
                await copy.WriteAsync(lineNo, NpgsqlDbType.Integer);
                await copy.WriteAsync(txid!, NpgsqlDbType.Text);
                await copy.WriteAsync(status!, NpgsqlDbType.Text);
                if (amount is { } a) await copy.WriteAsync(a, NpgsqlDbType.Numeric); else await copy.WriteNullAsync();
                if (date is { } dt) await copy.WriteAsync(dt, NpgsqlDbType.TimestampTz); else await copy.WriteNullAsync();
            }
            await copy.CompleteAsync();
        }

        // "Only in ours" needs a period: the one asked for, else the report's own dates (whole days).
        from ??= minDate?.Date;
        to ??= maxDate?.Date.AddDays(1);
        await conn.ExecuteAsync("""
            UPDATE reconciliations SET rows_read = @read, rows_malformed = @bad, period_from = @from, period_to = @to WHERE id = @id
            """, new { id, read, bad, from, to }, tx);
        await tx.CommitAsync();
        var summary = (await GetAsync(conn, id, advertiserId))!;
        summary.Malformed = malformed;
        return summary;
    }

    public async Task<ReconciliationSummary?> GetAsync(NpgsqlConnection conn, long id, long? advertiserScope)
    {
        var s = await conn.QuerySingleOrDefaultAsync<ReconciliationSummary>("""
            SELECT id, advertiser_id, offer_id, period_from, period_to, rows_read, rows_malformed, applied_at, applied_changes
            FROM reconciliations WHERE id = @id AND (@advertiserScope::bigint IS NULL OR advertiser_id = @advertiserScope)
            """, new { id, advertiserScope });
        if (s is null) return null;
        s.Counts = Kinds.ToDictionary(k => k, _ => 0L);
        foreach (var (kind, count) in await conn.QueryAsync<(string, long)>($"SELECT kind, count(*) FROM ({ItemsSql}) x GROUP BY kind", new { id }))
            s.Counts[kind] = count;
        return s;
    }

    public async Task<IEnumerable<ReconciliationItem>> ItemsAsync(long id, string? kind, int limit, int offset)
    {
        await using var conn = await db.OpenConnectionAsync();
        return await conn.QueryAsync<ReconciliationItem>($"""
            SELECT * FROM ({ItemsSql}) x WHERE @kind::text IS NULL OR kind = @kind ORDER BY line_no NULLS LAST, txid LIMIT @limit OFFSET @offset
            """, new { id, kind, limit, offset });
    }

    /// Applies every status the advertiser reports differently, in one transaction, with a history row for
    /// each change; only changes the status rules allow (rejected stays rejected). Once per reconciliation.
    public async Task<int> ApplyAsync(long id, string actor)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        if (await conn.ExecuteAsync("UPDATE reconciliations SET applied_at = @now, applied_by = @actor WHERE id = @id AND applied_at IS NULL",
                new { id, now, actor }, tx) == 0)
            throw await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM reconciliations WHERE id = @id", new { id }, tx) == 0
                ? ApiException.NotFound("Reconciliation")
                : new ApiException(409, "already_applied", "This reconciliation was applied already.");
        var changed = (await conn.QueryAsync<ChangedRow>($"""
            WITH diff AS (
                SELECT DISTINCT ON (conversion_id) conversion_id, their_status AS to_status, our_status AS from_status, line_no
                FROM ({ItemsSql}) x
                WHERE kind = 'status_differs'
                  AND ((their_status = 'approved' AND our_status = 'pending') OR (their_status = 'rejected' AND our_status IN ('pending', 'approved')))
                ORDER BY conversion_id, line_no
            ), upd AS (
                UPDATE conversions c SET status = d.to_status, status_changed_at = @now
                FROM diff d WHERE c.id = d.conversion_id AND c.status = d.from_status
                RETURNING c.*, d.from_status, d.line_no
            ), hist AS (
                INSERT INTO conversion_status_history (event_id, conversion_id, from_status, to_status, actor, reason, changed_at)
                SELECT gen_random_uuid(), id, from_status, status, @actor, 'reconciliation ' || @id || ', line ' || line_no, @now FROM upd
            )
            SELECT * FROM upd
            """, new { id, now, actor }, tx)).ToList();
        await PublisherPostbackOutbox.EnqueueAsync(conn, tx, network.Current, changed.Select(c => (EventIds.New(new DateTimeOffset(now)), (ConversionRow)c)), time.GetUtcNow());
        await conn.ExecuteAsync("UPDATE reconciliations SET applied_changes = @n WHERE id = @id", new { id, n = changed.Count }, tx);
        await tx.CommitAsync();
        foreach (var c in changed)
            await recorder.RememberStatusAsync(c.OfferId, c.Goal, c.DedupeKey, c.Id, c.FromStatus, c.Status, reviewed: true);
        return changed.Count;
    }

    private sealed class ChangedRow
    {
        public string Id { get; init; } = "";
        public long OfferId { get; init; }
        public string Goal { get; init; } = "";
        public string DedupeKey { get; init; } = "";
        public string Status { get; init; } = "";
        public string FromStatus { get; init; } = "";
        public string ClickId { get; init; } = "";
        public long PublisherId { get; init; }
        public decimal Payout { get; init; }
        public string Currency { get; init; } = "";
        public string? Txid { get; init; }
        public string? Sub1 { get; init; }
        public string? Sub2 { get; init; }
        public string? Sub3 { get; init; }
        public string? Sub4 { get; init; }
        public string? Sub5 { get; init; }
        public string? Source { get; init; }

        public static explicit operator ConversionRow(ChangedRow c) => new()
        {
            Id = c.Id, OfferId = c.OfferId, Goal = c.Goal, DedupeKey = c.DedupeKey, Status = c.Status, ClickId = c.ClickId, PublisherId = c.PublisherId,
            Payout = c.Payout, Currency = c.Currency, Txid = c.Txid, Sub1 = c.Sub1, Sub2 = c.Sub2, Sub3 = c.Sub3, Sub4 = c.Sub4, Sub5 = c.Sub5, Source = c.Source,
        };
    }

    // Their rows against our conversions of the advertiser (and offer) in the period, joined on txid.
    private const string ItemsSql = """
        WITH r AS (SELECT * FROM reconciliations WHERE id = @id),
        theirs AS (SELECT rr.* FROM reconciliation_rows rr WHERE rr.reconciliation_id = @id),
        ours AS (
            SELECT c.* FROM conversions c, r
            WHERE c.advertiser_id = r.advertiser_id AND (r.offer_id IS NULL OR c.offer_id = r.offer_id) AND c.txid IS NOT NULL
              AND (c.txid IN (SELECT txid FROM theirs)
                   OR (r.period_from IS NOT NULL AND c.created_at >= r.period_from AND (r.period_to IS NULL OR c.created_at < r.period_to)))
        )
        SELECT CASE WHEN o.id IS NULL THEN 'only_theirs'
                    WHEN t.txid IS NULL THEN 'only_ours'
                    WHEN o.status <> t.status THEN 'status_differs'
                    WHEN t.amount IS NOT NULL AND o.amount IS DISTINCT FROM t.amount THEN 'amount_differs'
                    ELSE 'matched' END AS kind,
               t.line_no, coalesce(t.txid, o.txid) AS txid, o.id AS conversion_id, o.status AS our_status, t.status AS their_status,
               o.amount AS our_amount, t.amount AS their_amount
        FROM theirs t FULL OUTER JOIN ours o ON o.txid = t.txid
        """;

    private static readonly Dictionary<string, string> StatusWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["approved"] = "approved", ["confirmed"] = "approved", ["paid"] = "approved", ["completed"] = "approved",
        ["rejected"] = "rejected", ["declined"] = "rejected", ["cancelled"] = "rejected", ["canceled"] = "rejected", ["refunded"] = "rejected",
        ["pending"] = "pending", ["hold"] = "pending", ["processing"] = "pending",
    };

    private static string? Parse(string line, List<string> fields, int txidCol, int statusCol, int amountCol, int dateCol,
        out string? txid, out string? status, out decimal? amount, out DateTime? date)
    {
        txid = status = null; amount = null; date = null;
        if (!CsvLine.TrySplit(line, fields, out var error)) return error;
        string? Field(int col) => col >= 0 && col < fields.Count ? fields[col] : null;
        txid = Field(txidCol);
        if (string.IsNullOrEmpty(txid)) return "txid is missing";
        if (txid.Length > PostbackRequest.MaxTxidLength || InputText.Clean(txid) != txid) return "txid is too long or has control characters";
        if (!StatusWords.TryGetValue(Field(statusCol) ?? "", out status)) return $"status '{Field(statusCol)}' is not approved, rejected or pending";
        if (Field(amountCol) is { Length: > 0 } a)
        {
            if (!MoneyText.TryParse(a, out var v))
                return $"amount {MoneyText.Rule}";
            amount = v;
        }
        if (Field(dateCol) is { Length: > 0 } d)
        {
            if (!DateTimeOffset.TryParse(d, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dt) || dt.Year is < 2000 or > 2100)
                return $"date '{d}' is not a date such as 2026-11-21";
            date = dt.UtcDateTime;
        }
        return null;
    }
}
