using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Reports;

public sealed record TrafficCostInput(string? Day, long? OfferId, string? Sub1,
    [property: JsonConverter(typeof(TrafficCostApi.AmountText))] string? Amount, string? Currency);
public sealed record TrafficCostUpload(long? PublisherId, TrafficCostInput[]? Costs);

public sealed class TrafficCostView
{
    public DateTime Day { get; init; }
    public long PublisherId { get; init; }
    public long OfferId { get; init; }
    public string Sub1 { get; init; } = "";
    public decimal Amount { get; init; }
    public string Currency { get; init; } = "";
    public string UploadedBy { get; init; } = "";
    public DateTime UploadedAt { get; init; }
}

/// What publishers paid for traffic bought elsewhere, per day, offer and source (the sub1 value their ads put on
/// the link; empty for the whole day), for reports' cost, profit and ROI. Uploaded as JSON or CSV; each row
/// replaces the one with the same key. Every row is checked before any is written: one bad row, nothing saved.
public static class TrafficCostApi
{
    /// A day's cost above this is a typo (a missing decimal point), not a media budget.
    public const decimal MaxAmount = 10_000_000m;
    public const int MaxRows = 10_000;

    public sealed record Problem(int Row, string Message);

    /// An amount as a JSON number or string, kept as its text: each row's amount is checked with the row, so one
    /// bad amount is reported with the others instead of failing the whole body.
    public sealed class AmountText : JsonConverter<string?>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
        {
            JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Null => null,
            _ => throw new JsonException("amount must be a number"),
        };

        public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }

    public static void MapTrafficCosts(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/costs").WithTags("Traffic costs");
        g.MapPost("/", async (TrafficCostUpload? body, Caller caller, NpgsqlDataSource db) =>
        {
            body = Validate.Body(body);
            await using var conn = await db.OpenConnectionAsync();
            return new { saved = await SaveAsync(conn, caller, body.PublisherId, body.Costs ?? []) };
        }).WithSummary("Save traffic costs per day, offer and sub1 (publishers their own; admins name publisher_id); amount in the offer's currency or a stated one");
        g.MapPost("/csv", async (HttpRequest request, Caller caller, NpgsqlDataSource db, [FromQuery(Name = "publisher_id")] long? publisherId) =>
        {
            var rows = await ReadCsvAsync(request.Body);
            await using var conn = await db.OpenConnectionAsync();
            return new { saved = await SaveAsync(conn, caller, publisherId, rows) };
        }).WithSummary("The same as a CSV body: day,offer_id,sub1,amount,currency (sub1 and currency may be empty)").DisableAntiforgery();
        g.MapGet("/", async (Caller caller, NpgsqlDataSource db, TimeProvider time, DateTime? from, DateTime? to,
            [FromQuery(Name = "publisher_id")] long? publisherId, [FromQuery(Name = "offer_id")] long? offerId) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var today = time.GetUtcNow().UtcDateTime.Date;
            return await ListAsync(conn, caller, from ?? today.AddDays(-30), to ?? today, publisherId, offerId);
        });
    }

    public static async Task<List<TrafficCostView>> ListAsync(NpgsqlConnection conn, Caller caller, DateTime from, DateTime to, long? publisherId, long? offerId)
    {
        if (caller.IsAdvertiser) throw ApiException.Forbidden("Traffic costs are the publishers' and the network's.");
        return (await conn.QueryAsync<TrafficCostView>($"""
            SELECT day, publisher_id, offer_id, sub1, amount, currency, uploaded_by, uploaded_at FROM traffic_costs
            WHERE day >= @from::date AND day <= @to::date AND {caller.Scope(null, "publisher_id")}
              AND (@publisherId::bigint IS NULL OR publisher_id = @publisherId) AND (@offerId::bigint IS NULL OR offer_id = @offerId)
            ORDER BY day DESC, offer_id, sub1 LIMIT 5000
            """, new { from, to, publisherId, offerId, callerPublisher = caller.PublisherId })).ToList();
    }

    /// Checks every row, then writes them all in one transaction; any problem is a 400 listing the first rows at fault.
    public static async Task<int> SaveAsync(NpgsqlConnection conn, Caller caller, long? publisherId, IReadOnlyList<TrafficCostInput> rows)
    {
        if (caller.IsAdvertiser) throw ApiException.Forbidden("Traffic costs are the publishers' and the network's.");
        var publisher = caller.IsAdmin ? Validate.Id(publisherId, "publisher_id")
            : publisherId is null || publisherId == caller.PublisherId ? caller.PublisherId!.Value
            : throw ApiException.Forbidden("A publisher saves its own costs.");
        if (rows.Count == 0) throw ApiException.Invalid("costs", "must hold at least one row");
        if (rows.Count > MaxRows) throw ApiException.Invalid("costs", $"may hold at most {MaxRows} rows");
        var offers = (await conn.QueryAsync<(long Id, string Currency)>("""
            SELECT o.id, o.currency FROM offers o JOIN offer_access a ON a.offer_id = o.id WHERE a.publisher_id = @publisher
            """, new { publisher })).ToDictionary(o => o.Id, o => o.Currency);
        var rates = (await conn.QueryAsync<(string From, string To, decimal Rate)>("SELECT from_currency, to_currency, rate FROM currency_rates"))
            .ToDictionary(r => (r.From, r.To), r => r.Rate);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var problems = new List<Problem>();
        var valid = new List<(DateOnly Day, long Offer, string Sub1, decimal Amount, string Currency)>();
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (r is null) { problems.Add(new Problem(i + 1, "must be an object")); continue; }
            string? Check(out (DateOnly, long, string, decimal, string) row)
            {
                row = default;
                if (!DateOnly.TryParseExact(r.Day ?? "", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                    return "day must be a date such as 2026-12-01";
                if (day > today || day < today.AddDays(-400)) return "day must be within the last 400 days, not in the future";
                if (r.OfferId is not { } offer || !offers.TryGetValue(offer, out var offerCurrency)) return "offer_id is not an offer this publisher runs";
                var sub1 = InputText.Clean(r.Sub1?.Trim()) ?? "";
                if (sub1.Length > 255) return "sub1 must be at most 255 characters";
                if (!MoneyText.TryParse(r.Amount, out var amount)) return $"amount '{r.Amount}' is not an amount of at most 4 decimals";
                if (amount > MaxAmount) return $"amount must be at most {MaxAmount.ToString(CultureInfo.InvariantCulture)} a day";
                var currency = string.IsNullOrWhiteSpace(r.Currency) ? offerCurrency : r.Currency.Trim().ToUpperInvariant();
                if (currency != offerCurrency)
                {
                    if (!rates.TryGetValue((currency, offerCurrency), out var rate)) return $"currency {currency} has no exchange rate to the offer's {offerCurrency}";
                    amount = decimal.Round(amount * rate, 4);
                }
                row = (day, offer, sub1, amount, offerCurrency);
                return null;
            }
            if (Check(out var ok) is { } problem) problems.Add(new Problem(i + 1, problem)); else valid.Add(ok);
        }
        if (problems.Count > 0)
            throw new ApiException(400, "invalid_costs",
                $"Nothing was saved: {problems.Count} row(s) have a problem. " + string.Join(" ", problems.Take(20).Select(p => $"Row {p.Row}: {p.Message}.")));
        await using var tx = await conn.BeginTransactionAsync();
        foreach (var (day, offer, sub1, amount, currency) in valid)
            await conn.ExecuteAsync("""
                INSERT INTO traffic_costs (day, publisher_id, offer_id, sub1, amount, currency, uploaded_by)
                VALUES (@day, @publisher, @offer, @sub1, @amount, @currency, @actor)
                ON CONFLICT (day, publisher_id, offer_id, sub1) DO UPDATE
                    SET amount = excluded.amount, currency = excluded.currency, uploaded_by = excluded.uploaded_by, uploaded_at = now()
                """, new { day, publisher, offer, sub1, amount, currency, actor = caller.Actor }, tx);
        await tx.CommitAsync();
        return valid.Count;
    }

    /// day,offer_id,sub1,amount,currency with a header row; at most 5 MB (a year of daily costs for many sources).
    public static async Task<List<TrafficCostInput>> ReadCsvAsync(Stream body)
    {
        using var reader = new StreamReader(body);
        var text = new char[5 * 1024 * 1024 + 1];
        var n = await reader.ReadBlockAsync(text);
        if (n > 5 * 1024 * 1024) throw new ApiException(413, "too_large", "A cost file may be at most 5 MB.");
        var lines = new string(text, 0, n).Split('\n');
        var fields = new List<string>();
        if (lines.Length == 0 || !CsvLine.TrySplit(lines[0].Trim('\uFEFF', '\r'), fields, out _)) throw ApiException.Invalid("csv", "needs a header row");
        var index = new Dictionary<string, int>();
        for (var i = 0; i < fields.Count; i++) index.TryAdd(fields[i].Trim().ToLowerInvariant(), i);
        foreach (var required in new[] { "day", "offer_id", "amount" })
            if (!index.ContainsKey(required)) throw ApiException.Invalid("csv", "header must name day, offer_id and amount (and optionally sub1, currency)");
        var rows = new List<TrafficCostInput>();
        foreach (var raw in lines.Skip(1))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            if (!CsvLine.TrySplit(line, fields, out _)) { rows.Add(new TrafficCostInput(null, null, null, null, null)); continue; }
            string? Get(string name) => index.TryGetValue(name, out var i) && i < fields.Count ? fields[i] : null;
            rows.Add(new TrafficCostInput(Get("day"), long.TryParse(Get("offer_id"), out var o) ? o : null, Get("sub1"), Get("amount"), Get("currency")));
        }
        return rows;
    }
}
