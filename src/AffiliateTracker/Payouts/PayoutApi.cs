using System.Globalization;
using System.Text;
using AffiliateTracker.Access;
using AffiliateTracker.Conversions;
using AffiliateTracker.Http;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Payouts;

public sealed record PayoutRunInput(DateTimeOffset? PeriodEnd);
public sealed record PaidInput(string? PaymentReference);

/// Balances (publishers see their own), payout runs (admins), and the trail from a line to its conversions.
public static class PayoutApi
{
    public static void MapPayoutApi(this RouteGroupBuilder api)
    {
        api.MapGet("/balances", async (Caller caller, NpgsqlDataSource db, [FromQuery(Name = "publisher_id")] long? publisherId) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await BalancesAsync(conn, caller, publisherId);
        }).WithTags("Payouts");

        var g = api.MapGroup("/payout-runs").WithTags("Payouts");

        g.MapPost("/", async (PayoutRunInput? body, Caller caller, PayoutRuns runs, TimeProvider time) =>
        {
            caller.RequireAdmin();
            var end = body?.PeriodEnd ?? time.GetUtcNow();
            if (end > time.GetUtcNow().AddMinutes(1)) throw ApiException.Invalid("period_end", "may not be in the future");
            var run = await runs.CreateAsync(end, caller.Actor);
            return Results.Created($"/api/v1/payout-runs/{run.Id}", run);
        });

        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            caller.RequireAdmin();
            await using var conn = await db.OpenConnectionAsync();
            return await conn.QueryAsync<PayoutRun>("SELECT * FROM payout_runs ORDER BY id DESC LIMIT 200");
        });

        // Publishers see their own lines of a run; admins see all.
        g.MapGet("/{id:long}", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            if (caller.AdvertiserId is not null) throw ApiException.NotFound("Payout run");
            await using var conn = await db.OpenConnectionAsync();
            var run = await PayoutRuns.GetAsync(conn, id, caller.IsAdmin ? null : caller.PublisherId);
            return run is null || (!caller.IsAdmin && run.Lines.Count == 0) ? throw ApiException.NotFound("Payout run") : run;
        });

        g.MapPost("/{id:long}/approve", async (long id, Caller caller, PayoutRuns runs) => { caller.RequireAdmin(); return await runs.ApproveAsync(id, caller.Actor); });
        g.MapPost("/{id:long}/cancel", async (long id, Caller caller, PayoutRuns runs) => { caller.RequireAdmin(); return await runs.CancelAsync(id, caller.Actor); });

        g.MapPost("/{id:long}/lines/{lineId:long}/paid", async (long id, long lineId, PaidInput? body, Caller caller, PayoutRuns runs) =>
        {
            caller.RequireAdmin();
            var reference = Validate.Name(Validate.Body(body).PaymentReference, "payment_reference");
            return await runs.MarkPaidAsync(id, lineId, reference, caller.Actor);
        });

        g.MapGet("/{id:long}/export.csv", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            caller.RequireAdmin();
            await using var conn = await db.OpenConnectionAsync();
            var run = await PayoutRuns.GetAsync(conn, id, null) ?? throw ApiException.NotFound("Payout run");
            return Results.File(ExportCsv(run), "text/csv; charset=utf-8", $"payout-run-{id}.csv");
        });

        // A publisher's payout history (admins: every publisher's, or one's).
        api.MapGet("/payout-lines", async (Caller caller, NpgsqlDataSource db, [FromQuery(Name = "publisher_id")] long? publisherId) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await LinesAsync(conn, caller, publisherId);
        }).WithTags("Payouts");

        // Traceability: a line's conversions and clawbacks (each conversion leads on to its click, history and log).
        api.MapGet("/payout-lines/{lineId:long}/items", async (long lineId, Caller caller, NpgsqlDataSource db) =>
        {
            if (caller.AdvertiserId is not null) throw ApiException.NotFound("Payout line");
            await using var conn = await db.OpenConnectionAsync();
            var owner = await conn.QuerySingleOrDefaultAsync<long?>("SELECT publisher_id FROM payout_lines WHERE id = @lineId", new { lineId });
            if (owner is null || (!caller.IsAdmin && owner != caller.PublisherId)) throw ApiException.NotFound("Payout line");
            var conversions = await conn.QueryAsync<ConversionRow>("SELECT * FROM conversions WHERE payout_line_id = @lineId ORDER BY created_at", new { lineId });
            var clawbacks = await conn.QueryAsync("SELECT conversion_id, amount, created_at FROM clawbacks WHERE payout_line_id = @lineId", new { lineId });
            return Results.Ok(new
            {
                conversions = conversions.Select(c => { if (!caller.IsAdmin) c.Revenue = null; return c; }),
                clawbacks = clawbacks.Select(k => new { conversion_id = (string)k.conversion_id, amount = (decimal)k.amount, created_at = (DateTime)k.created_at }),
            });
        }).WithTags("Payouts");

        api.MapGet("/ledger-check", async (Caller caller, NpgsqlDataSource db) =>
        {
            caller.RequireAdmin();
            await using var conn = await db.OpenConnectionAsync();
            var violations = await LedgerCheck.RunAsync(conn);
            return Results.Json(new { ok = violations.Count == 0, invariants = LedgerCheck.Invariants, violations }, statusCode: violations.Count == 0 ? 200 : 409);
        }).WithTags("Payouts");
    }

    public sealed class PayoutLineView
    {
        public long Id { get; init; }
        public long RunId { get; init; }
        public string RunStatus { get; init; } = "";
        public DateTime PeriodEnd { get; init; }
        public long PublisherId { get; init; }
        public string PublisherName { get; init; } = "";
        public string Currency { get; init; } = "";
        public decimal Amount { get; init; }
        public string Status { get; init; } = "";
        public string? PaymentReference { get; init; }
        public DateTime? PaidAt { get; init; }
    }

    /// Payout lines newest first, in the caller's scope: a publisher's own, every one for admins.
    public static async Task<List<PayoutLineView>> LinesAsync(NpgsqlConnection conn, Caller caller, long? publisherId)
    {
        if (caller.IsAdvertiser) throw ApiException.Forbidden("Payouts are for admins and publishers.");
        return (await conn.QueryAsync<PayoutLineView>($"""
            SELECT l.id, l.run_id, r.status AS run_status, r.period_end, l.publisher_id, p.name AS publisher_name, l.currency, l.amount,
                   l.status, l.payment_reference, l.paid_at
            FROM payout_lines l JOIN payout_runs r ON r.id = l.run_id JOIN publishers p ON p.id = l.publisher_id
            WHERE {caller.Scope(null, "l.publisher_id")} AND (@publisherId::bigint IS NULL OR l.publisher_id = @publisherId)
              AND r.status <> 'cancelled'
            ORDER BY l.id DESC LIMIT 500
            """, new { publisherId, callerPublisher = caller.PublisherId })).ToList();
    }

    /// Balances: a publisher's own, or for admins every publisher's (or one's).
    public static async Task<IReadOnlyList<Balance>> BalancesAsync(NpgsqlConnection conn, Caller caller, long? publisherId)
    {
        if (caller.AdvertiserId is not null) throw ApiException.Forbidden("Balances are for admins and publishers.");
        return await Balances.ForAsync(conn, caller.IsAdmin ? publisherId : caller.PublisherId);
    }

    /// A run's lines as CSV, for the bank or the accounting system.
    public static byte[] ExportCsv(PayoutRun run)
    {
        var csv = new StringBuilder("run_id,line_id,publisher_id,publisher_name,currency,amount,conversions,clawbacks,status,payment_reference,paid_at\n");
        foreach (var l in run.Lines)
            csv.AppendJoin(',', run.Id, l.Id, l.PublisherId, CsvField.Of(l.PublisherName), l.Currency, l.Amount.ToString("0.00##", CultureInfo.InvariantCulture),
                l.Conversions, l.Clawbacks, l.Status, CsvField.Of(l.PaymentReference), l.PaidAt?.ToString("O") ?? "").Append('\n');
        return Encoding.UTF8.GetBytes(csv.ToString());
    }
}
