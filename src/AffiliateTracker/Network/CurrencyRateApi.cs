using AffiliateTracker.Access;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Network;

public sealed record RateInput(decimal? Rate);

/// Exchange rates for postbacks reported in another currency than the offer's (admins).
public static class CurrencyRateApi
{
    public static void MapCurrencyRates(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/currency-rates").WithTags("Currency rates");

        g.MapPut("/{from}/{to}", async (string from, string to, RateInput? body, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            caller.RequireAdmin();
            from = Validate.Currency(from.ToUpperInvariant());
            to = Validate.Currency(to.ToUpperInvariant());
            var rate = Validate.Body(body).Rate is { } r && r > 0 && r < 1_000_000_000m ? r : throw Http.ApiException.Invalid("rate", "must be a positive number");
            await using var conn = await db.OpenConnectionAsync();
            await conn.ExecuteAsync("""
                INSERT INTO currency_rates (from_currency, to_currency, rate) VALUES (@from, @to, @rate)
                ON CONFLICT (from_currency, to_currency) DO UPDATE SET rate = excluded.rate, updated_at = now()
                """, new { from, to, rate });
            await network.ChangedAsync();
            return Results.Ok(new { from_currency = from, to_currency = to, rate });
        });

        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            caller.RequireAdmin();
            await using var conn = await db.OpenConnectionAsync();
            return (await conn.QueryAsync("SELECT from_currency, to_currency, rate, updated_at FROM currency_rates ORDER BY 1, 2"))
                .Select(r => new { from_currency = (string)r.from_currency, to_currency = (string)r.to_currency, rate = (decimal)r.rate, updated_at = (DateTime)r.updated_at });
        });
    }
}
