using Dapper;
using Npgsql;

namespace AffiliateTracker.Payouts;

/// Verifies the money invariants over the whole database; each query returns the rows that break one.
/// Run by `AffiliateTracker ledger-check`, by GET /api/v1/ledger-check (admins), and by the test suite.
public static class LedgerCheck
{
    public sealed record Violation(string Invariant, string Detail);

    private static readonly (string Invariant, string Sql)[] Checks =
    [
        ("a conversion is claimed only by a live payout line",
         "SELECT c.id || ' claimed by cancelled line ' || l.id FROM conversions c JOIN payout_lines l ON l.id = c.payout_line_id WHERE l.status = 'cancelled'"),
        ("a clawback is claimed only by a live payout line",
         "SELECT k.id || ' claimed by cancelled line ' || l.id FROM clawbacks k JOIN payout_lines l ON l.id = k.payout_line_id WHERE l.status = 'cancelled'"),
        ("a line claims only its own publisher's conversions in its currency",
         "SELECT c.id || ' in line ' || l.id FROM conversions c JOIN payout_lines l ON l.id = c.payout_line_id WHERE c.publisher_id <> l.publisher_id OR c.currency <> l.currency"),
        ("each live line's amount equals the sum of its conversions less its clawbacks",
         """
         SELECT 'line ' || l.id || ' says ' || l.amount || ', its items sum to ' || s.total FROM payout_lines l
         CROSS JOIN LATERAL (SELECT coalesce((SELECT sum(payout) FROM conversions WHERE payout_line_id = l.id), 0)
                                  - coalesce((SELECT sum(amount) FROM clawbacks WHERE payout_line_id = l.id), 0) AS total) s
         WHERE l.status <> 'cancelled' AND l.amount <> s.total
         """),
        ("every conversion rejected after it was paid has exactly its clawback",
         """
         SELECT c.id || ' rejected after payment, no clawback' FROM conversions c JOIN payout_lines l ON l.id = c.payout_line_id
         WHERE c.status = 'rejected' AND l.status = 'paid' AND NOT EXISTS (SELECT 1 FROM clawbacks k WHERE k.conversion_id = c.id AND k.amount = c.payout)
         UNION ALL
         SELECT 'clawback ' || k.id || ' without a paid, rejected conversion' FROM clawbacks k JOIN conversions c ON c.id = k.conversion_id
         LEFT JOIN payout_lines l ON l.id = c.payout_line_id WHERE c.status <> 'rejected' OR l.status IS DISTINCT FROM 'paid'
         """),
        ("balances add up to non-rejected conversions (and paid-then-rejected ones) less clawbacks",
         """
         WITH b AS (
             SELECT c.publisher_id, c.currency, sum(c.payout) AS total FROM conversions c LEFT JOIN payout_lines l ON l.id = c.payout_line_id
             WHERE c.status <> 'rejected' OR l.status = 'paid' GROUP BY 1, 2
             UNION ALL SELECT publisher_id, currency, -sum(amount) FROM clawbacks GROUP BY 1, 2
         ), expected AS (SELECT publisher_id, currency, sum(total) AS total FROM b GROUP BY 1, 2),
         parts AS (
             SELECT c.publisher_id, c.currency,
                    sum(CASE WHEN c.status = 'pending' THEN c.payout ELSE 0 END) + sum(CASE WHEN c.status = 'approved' AND c.payout_line_id IS NULL THEN c.payout ELSE 0 END)
                    + (SELECT coalesce(sum(amount), 0) FROM payout_lines l WHERE l.publisher_id = c.publisher_id AND l.currency = c.currency AND l.status IN ('open', 'paid'))
                    AS total
             FROM conversions c GROUP BY 1, 2
         )
         SELECT 'publisher ' || e.publisher_id || ' ' || e.currency || ': balances ' || (p.total - coalesce(u.amount, 0)) || ' vs conversions ' || e.total
         FROM expected e JOIN parts p USING (publisher_id, currency)
         LEFT JOIN (SELECT publisher_id, currency, sum(amount) AS amount FROM clawbacks WHERE payout_line_id IS NULL GROUP BY 1, 2) u USING (publisher_id, currency)
         WHERE p.total - coalesce(u.amount, 0) <> e.total
         """),
        ("every conversion's status is the last one its history records, and its history begins at creation",
         """
         SELECT c.id || ' is ' || c.status || ', history says ' || coalesce(h.to_status, 'nothing') FROM conversions c
         LEFT JOIN LATERAL (SELECT to_status FROM conversion_status_history_entries WHERE conversion_id = c.id ORDER BY changed_at DESC, id DESC LIMIT 1) h ON true
         WHERE h.to_status IS DISTINCT FROM c.status
         UNION ALL
         SELECT c.id || ' has no creation entry' FROM conversions c
         WHERE NOT EXISTS (SELECT 1 FROM conversion_status_history_entries WHERE conversion_id = c.id AND from_status IS NULL)
         """),
    ];

    public static async Task<List<Violation>> RunAsync(NpgsqlConnection conn)
    {
        var found = new List<Violation>();
        foreach (var (invariant, sql) in Checks)
            found.AddRange((await conn.QueryAsync<string>(sql + " LIMIT 100")).Select(d => new Violation(invariant, d)));
        return found;
    }

    public static IEnumerable<string> Invariants => Checks.Select(c => c.Invariant);
}
