using AffiliateTracker.Conversions;
using AffiliateTracker.Http;
using AffiliateTracker.Payouts;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Admin;

/// One payout run: its lines, the conversions behind a line, approve, mark a line paid with its reference,
/// export for the bank, cancel (PayoutRuns keeps every money rule).
public sealed class PayoutRunModel(NpgsqlDataSource db, PayoutRuns runs) : ConsolePage
{
    public PayoutRun Run { get; private set; } = null!;
    [BindProperty(SupportsGet = true)] public long? Line { get; set; }
    public List<ConversionRow> LineItems { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(long id, string? format)
    {
        Caller.RequireAdmin();
        await using var conn = await db.OpenConnectionAsync();
        Run = await PayoutRuns.GetAsync(conn, id, null) ?? throw ApiException.NotFound("Payout run");
        if (format == "csv") return File(PayoutApi.ExportCsv(Run), "text/csv; charset=utf-8", $"payout-run-{id}.csv");
        if (Line is { } line && Run.Lines.Any(l => l.Id == line))
            LineItems = (await conn.QueryAsync<ConversionRow>("SELECT * FROM conversions WHERE payout_line_id = @line ORDER BY created_at", new { line })).ToList();
        return Page();
    }

    public async Task<IActionResult> OnPostApproveAsync(long id) => await DoAsync(id, () => runs.ApproveAsync(id, Caller.Actor), "Payouts.Approved");
    public async Task<IActionResult> OnPostCancelAsync(long id) => await DoAsync(id, () => runs.CancelAsync(id, Caller.Actor), "Payouts.Cancelled");

    public async Task<IActionResult> OnPostPaidAsync(long id, long lineId, string? reference)
    {
        if (string.IsNullOrWhiteSpace(reference)) { Notice(T["Payouts.ReferenceRequired"]); return Redirect($"/admin/payouts/{id}"); }
        return await DoAsync(id, () => runs.MarkPaidAsync(id, lineId, Access.Validate.Name(reference, "payment_reference"), Caller.Actor), "Payouts.MarkedPaid");
    }

    private async Task<IActionResult> DoAsync(long id, Func<Task<PayoutRun>> action, string done)
    {
        Caller.RequireAdmin();
        try
        {
            await action();
            Notice(T[done]);
        }
        catch (ApiException e) when (e.Status is 400 or 409)
        {
            Notice(e.Message);
        }
        return Redirect($"/admin/payouts/{id}");
    }
}
