using Npgsql;

namespace AffiliateTracker.Payouts;

/// The command-line form of the ledger check: prints each invariant and any violation; exit code 1 on any.
public static class LedgerCheckCommand
{
    public static async Task<int> RunAsync(IConfiguration config)
    {
        var cs = config.GetConnectionString("Postgres") ?? throw new InvalidOperationException("ConnectionStrings:Postgres is not set");
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        var violations = await LedgerCheck.RunAsync(conn);
        foreach (var invariant in LedgerCheck.Invariants)
        {
            var broken = violations.Where(v => v.Invariant == invariant).ToList();
            System.Console.WriteLine($"{(broken.Count == 0 ? "ok  " : "FAIL")} {invariant}");
            foreach (var v in broken) System.Console.WriteLine($"       {v.Detail}");
        }
        System.Console.WriteLine(violations.Count == 0 ? "ledger check: all invariants hold" : $"ledger check: {violations.Count} violations");
        return violations.Count == 0 ? 0 : 1;
    }
}
