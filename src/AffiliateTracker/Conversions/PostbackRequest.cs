using System.Globalization;
using System.Text.Json;
using AffiliateTracker.Storage;

namespace AffiliateTracker.Conversions;

/// The parameters of a postback or pixel, validated. Parameter names follow HasOffers / Everflow /
/// Keitaro, and the click id is accepted under the names other trackers use.
public sealed record PostbackRequest(
    string? ClickId, long? OfferId, string? Goal, decimal? Amount, string? Currency, string? Txid, string? Status,
    string? Token, string? Reason)
{
    public static readonly string[] ClickIdNames = ["click_id", "transaction_id", "clickid", "cid", "subid"];
    public const int MaxTxidLength = 128;

    /// Thrown for malformed parameters: always a 400 (or 422), never a partial write.
    public sealed class Invalid(string error, string message) : Exception(message)
    {
        public string Error { get; } = error;
    }

    public static async Task<Dictionary<string, string>> ReadParametersAsync(HttpRequest request)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in request.Query) if (v.Count > 0 && v[0] is { } s) values.TryAdd(k, s);
        if (HttpMethods.IsPost(request.Method) && request.ContentLength is not 0)
        {
            if (request.HasFormContentType)
            {
                foreach (var (k, v) in await request.ReadFormAsync()) if (v.Count > 0 && v[0] is { } s) values.TryAdd(k, s);
            }
            else if (request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
            {
                try
                {
                    using var doc = await JsonDocument.ParseAsync(request.Body);
                    if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new Invalid("invalid_body", "The JSON body must be an object.");
                    foreach (var p in doc.RootElement.EnumerateObject())
                        values.TryAdd(p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());
                }
                catch (JsonException) { throw new Invalid("invalid_body", "The JSON body is malformed."); }
            }
            else throw new Invalid("unsupported_media_type", "Send parameters in the query string, as a form, or as a JSON object.");
        }
        return values;
    }

    public static PostbackRequest Parse(IReadOnlyDictionary<string, string> p)
    {
        string? Get(string name) => p.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

        var clickId = ClickIdNames.Select(Get).FirstOrDefault(v => v is not null);
        if (clickId is not null && !Ulid.IsValid(clickId))
            throw new Invalid("invalid_click_id", "click_id is not a click id this tracker issued.");

        long? offerId = null;
        if (Get("offer_id") is { } o)
            offerId = long.TryParse(o, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id
                : throw new Invalid("invalid_offer_id", "offer_id must be a positive whole number.");

        var goal = Get("goal");
        if (goal is { Length: > 50 }) throw new Invalid("unknown_goal", "goal is longer than any goal code.");

        decimal? amount = null;
        if ((Get("amount") ?? Get("sale_amount")) is { } a)
        {
            if (!decimal.TryParse(a, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value > 1_000_000_000_000m)
                throw new Invalid("invalid_amount", "amount must be a non-negative decimal number with a point, such as 120.50.");
            if (value != Math.Round(value, 4)) throw new Invalid("invalid_amount", "amount may have at most 4 decimal places.");
            amount = value;
        }

        var currency = Get("currency")?.ToUpperInvariant();
        if (currency is not null && (currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper)))
            throw new Invalid("invalid_currency", "currency must be a three-letter ISO 4217 code such as USD.");

        var txid = Get("txid") ?? Get("adv_sub") ?? Get("order_id");
        if (txid is not null && (txid.Length > MaxTxidLength || txid.Any(char.IsControl)))
            throw new Invalid("invalid_txid", $"txid must be at most {MaxTxidLength} printable characters.");

        var status = Get("status")?.ToLowerInvariant();
        if (status is not null && !ConversionStatus.IsKnown(status))
            throw new Invalid("invalid_status", "status must be approved, rejected or pending (or left out).");

        var reason = Get("reason") ?? Get("comment");
        if (reason is { Length: > 500 }) reason = reason[..500];

        return new PostbackRequest(clickId, offerId, goal, amount, currency, txid, status, Get("token") ?? Get("security_token"), reason);
    }
}
