using System.Globalization;
using System.Text.Json;
using AffiliateTracker.Http;
using AffiliateTracker.Storage;

namespace AffiliateTracker.Conversions;

/// The parameters of a postback or pixel, validated. Parameter names follow HasOffers / Everflow /
/// Keitaro, and the click id is accepted under the names other trackers use.
public sealed record PostbackRequest(
    string? ClickId, long? OfferId, string? Goal, decimal? Amount, string? Currency, string? Txid, string? Status,
    string? Token, string? Reason)
{
    /// An HMAC signature header and the bytes it signs, when the advertiser signs instead of sending a token.
    public string? Signature { get; init; }
    public byte[] Signed { get; init; } = [];

    /// A signed pixel: `sig` (HMAC-SHA256 hex by the advertiser's signing key, PostbackSigning.PixelMessage)
    /// and `expires` (Unix seconds, as signed), with the exact amount text that was signed.
    public string? PixelSignature { get; init; }
    public string? Expires { get; init; }
    public string? AmountText { get; init; }

    /// Every parameter as received: the postback log keeps them (secrets removed) with the decision.
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;

    private const int MaxBody = 64 * 1024;

    public static readonly string[] ClickIdNames = ["click_id", "transaction_id", "clickid", "cid", "subid"];
    public const int MaxTxidLength = 128;

    /// Thrown for malformed parameters: always a 400 (or 422), never a partial write.
    public sealed class Invalid(string error, string message) : Exception(message)
    {
        public string Error { get; } = error;
    }

    /// The parameters (query string first, then a form or JSON body), and the raw bytes a signature covers:
    /// the query string for GET, the body for POST.
    public static async Task<(Dictionary<string, string> Values, byte[] Signed)> ReadParametersAsync(HttpRequest request)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in request.Query) if (v.Count > 0 && v[0] is { } s) values.TryAdd(k, s);
        var query = request.QueryString.HasValue ? request.QueryString.Value![1..] : "";
        var signed = System.Text.Encoding.UTF8.GetBytes(query);
        if (!HttpMethods.IsPost(request.Method) || request.ContentLength is 0) return (values, signed);

        if (request.ContentLength > MaxBody) throw new Invalid("body_too_large", $"The body may be at most {MaxBody} bytes.");
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        if (buffer.Length > MaxBody) throw new Invalid("body_too_large", $"The body may be at most {MaxBody} bytes.");
        var body = buffer.ToArray();
        if (request.HasFormContentType)
        {
            foreach (var (k, v) in Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(System.Text.Encoding.UTF8.GetString(body)))
                if (v.Count > 0 && v[0] is { } s) values.TryAdd(k, s);
        }
        else if (request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new Invalid("invalid_body", "The JSON body must be an object.");
                foreach (var p in doc.RootElement.EnumerateObject())
                    values.TryAdd(p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());
            }
            // InvalidOperationException: a string holding a lone surrogate ("\ud800"), which is no text at all.
            catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new Invalid("invalid_body", "The JSON body is malformed."); }
        }
        else if (body.Length > 0) throw new Invalid("unsupported_media_type", "Send parameters in the query string, as a form, or as a JSON object.");
        // A signed POST covers its query string and its body, so neither can be swapped under the signature.
        return (values, [.. System.Text.Encoding.UTF8.GetBytes(query + "\n"), .. body]);
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
        var amountText = Get("amount") ?? Get("sale_amount");
        if (amountText is not null)
            amount = MoneyText.TryParse(amountText, out var value) ? value : throw new Invalid("invalid_amount", $"amount {MoneyText.Rule}.");

        var currency = Get("currency")?.ToUpperInvariant();
        if (currency is not null && (currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper)))
            throw new Invalid("invalid_currency", "currency must be a three-letter ISO 4217 code such as USD.");

        // The advertiser's order id must match exactly later, so it is refused rather than cleaned.
        var txid = Get("txid") ?? Get("adv_sub") ?? Get("order_id");
        if (txid is not null && (txid.Length > MaxTxidLength || txid.Any(char.IsControl) || InputText.Clean(txid) != txid))
            throw new Invalid("invalid_txid", $"txid must be at most {MaxTxidLength} printable characters.");

        var status = Get("status")?.ToLowerInvariant();
        if (status is not null && !ConversionStatus.IsKnown(status))
            throw new Invalid("invalid_status", "status must be approved, rejected or pending (or left out).");

        var reason = InputText.Clean(Get("reason") ?? Get("comment"));
        if (reason is { Length: > 500 }) reason = reason[..500];

        return new PostbackRequest(clickId, offerId, goal, amount, currency, txid, status, Get("token") ?? Get("security_token"), reason)
        {
            PixelSignature = Get("sig"), Expires = Get("expires"), AmountText = amountText,
        };
    }
}
