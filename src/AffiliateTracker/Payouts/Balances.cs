using Dapper;
using Npgsql;

namespace AffiliateTracker.Payouts;

/// A publisher's money per currency: on hold (pending), available (approved, in no payout line, less
/// unclaimed clawbacks), in payout (in an open line), paid.
public sealed class Balance
{
    public long PublisherId { get; init; }
    public string Currency { get; init; } = "";
    public decimal OnHold { get; init; }
    public decimal Available { get; init; }
    public decimal InPayout { get; init; }
    public decimal Paid { get; init; }
}

public static class Balances
{
    /// Every sum is the database's. publisherId null = all publishers.
    public static async Task<IReadOnlyList<Balance>> ForAsync(NpgsqlConnection conn, long? publisherId, NpgsqlTransaction? tx = null) =>
        (await conn.QueryAsync<Balance>(Sql, new { publisherId }, tx)).ToList();

    private const string Sql = """
        WITH items AS (
            SELECT c.publisher_id, c.currency,
                   CASE WHEN c.status = 'pending' THEN c.payout ELSE 0 END AS on_hold,
                   CASE WHEN c.status = 'approved' AND c.payout_line_id IS NULL THEN c.payout ELSE 0 END AS available,
                   CASE WHEN l.status = 'open' THEN c.payout ELSE 0 END AS in_payout,
                   CASE WHEN l.status = 'paid' THEN c.payout ELSE 0 END AS paid
            FROM conversions c LEFT JOIN payout_lines l ON l.id = c.payout_line_id
            WHERE c.status <> 'rejected' OR l.status = 'paid'
            UNION ALL
            SELECT k.publisher_id, k.currency, 0,
                   CASE WHEN k.payout_line_id IS NULL THEN -k.amount ELSE 0 END,
                   CASE WHEN l.status = 'open' THEN -k.amount ELSE 0 END,
                   CASE WHEN l.status = 'paid' THEN -k.amount ELSE 0 END
            FROM clawbacks k LEFT JOIN payout_lines l ON l.id = k.payout_line_id
        )
        SELECT publisher_id, currency, sum(on_hold) AS on_hold, sum(available) AS available, sum(in_payout) AS in_payout, sum(paid) AS paid
        FROM items
        WHERE @publisherId::bigint IS NULL OR publisher_id = @publisherId
        GROUP BY publisher_id, currency
        ORDER BY publisher_id, currency
        """;
}
