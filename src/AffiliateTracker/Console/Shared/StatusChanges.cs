using AffiliateTracker.Access;
using AffiliateTracker.Conversions;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Npgsql;

namespace AffiliateTracker.Console.Shared;

/// Approving or rejecting conversions from a page, one or many at once, through the API's own status change
/// (ConversionApi.ChangeStatusAsync): the same rules, audit trail and Redis marks as a call with a key.
public sealed class StatusChanges(NpgsqlDataSource db, NetworkCache network, ConversionRecorder recorder, TimeProvider time)
{
    public sealed record Outcome(int Changed, List<string> Refused);

    /// The bulk bar's handler (_ConversionBulk.cshtml): what happened, as the notice the page shows next.
    public async Task<string> FromFormAsync(Caller caller, Text t, string[] ids, string? status, string? reason)
    {
        if (ids.Length == 0) return t["Conversions.NoneSelected"];
        if (string.IsNullOrWhiteSpace(reason)) return t["Conversions.ReasonRequired"];
        var outcome = await ApplyAsync(caller, ids, status, reason);
        return t["Conversions.Changed", outcome.Changed] + (outcome.Refused.Count > 0 ? " " + string.Join("; ", outcome.Refused) : "");
    }

    public async Task<Outcome> ApplyAsync(Caller caller, IEnumerable<string> ids, string? status, string? reason)
    {
        var refused = new List<string>();
        var changed = 0;
        await using var conn = await db.OpenConnectionAsync();
        foreach (var id in ids.Distinct().Take(500))
        {
            try
            {
                await ConversionApi.ChangeStatusAsync(conn, caller, network, recorder, time, id, status, reason);
                changed++;
            }
            catch (ApiException e) when (e.Status is 409 or 404)
            {
                refused.Add($"{id}: {e.Message}");
            }
        }
        return new Outcome(changed, refused);
    }
}
