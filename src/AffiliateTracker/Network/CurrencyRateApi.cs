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
            await using var conn = await db.OpenConnectionAsync();
            var rate = await SetAsync(conn, caller, network, from, to, Validate.Body(body).Rate);
            return Results.Ok(new { from_currency = rate.FromCurrency, to_currency = rate.ToCurrency, rate = rate.Rate });
        });

        g.MapGet("/", async (Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller);
        });
    }

    public sealed record RateView(string FromCurrency, string ToCurrency, decimal Rate, DateTime UpdatedAt);

    public static async Task<RateView> SetAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, string from, string to, decimal? rate)
    {
        caller.RequireAdmin();
        from = Validate.Currency(from.ToUpperInvariant());
        to = Validate.Currency(to.ToUpperInvariant());
        var value = rate is { } r && r > 0 && r < 1_000_000_000m ? r : throw Http.ApiException.Invalid("rate", "must be a positive number");
        await conn.ExecuteAsync("""
            INSERT INTO currency_rates (from_currency, to_currency, rate) VALUES (@from, @to, @value)
            ON CONFLICT (from_currency, to_currency) DO UPDATE SET rate = excluded.rate, updated_at = now()
            """, new { from, to, value });
        await network.ChangedAsync();
        return (await ListAsync(conn, caller)).Single(x => x.FromCurrency == from && x.ToCurrency == to);
    }

    public static async Task<List<RateView>> ListAsync(NpgsqlConnection conn, Caller caller)
    {
        caller.RequireAdmin();
        return (await conn.QueryAsync<(string, string, decimal, DateTime)>("SELECT from_currency, to_currency, rate, updated_at FROM currency_rates ORDER BY 1, 2"))
            .Select(r => new RateView(r.Item1.Trim(), r.Item2.Trim(), r.Item3, r.Item4)).ToList();
    }
}
