using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AffiliateTracker.Http;

/// Money as it enters from outside (postback and pixel amounts, payouts in API bodies, reconciliation CSV
/// rows), checked as text before it becomes a number: decimal.Parse rounds past 28 significant digits, so
/// "1.000000000000000000000000000001" would pass a check on the parsed value as 1. Accepted: ASCII digits
/// with an optional point and at most 4 decimals (further decimals only if they are zeros, as in "12.500000",
/// which some systems always print), at most 13 digits before the point. No sign, exponent, space or
/// thousands separator.
public static class MoneyText
{
    public const decimal Max = 1_000_000_000_000m;

    public const string Rule = "must be a non-negative decimal number with a point and at most 4 decimal places, such as 120.50";

    public static bool TryParse(ReadOnlySpan<char> text, out decimal value)
    {
        value = 0;
        var point = text.IndexOf('.');
        var whole = point < 0 ? text : text[..point];
        var fraction = point < 0 ? [] : text[(point + 1)..];
        if (whole.Length + fraction.Length == 0 || whole.Length > 13) return false;
        foreach (var c in whole) if (!char.IsAsciiDigit(c)) return false;
        for (var i = 0; i < fraction.Length; i++)
            if (!char.IsAsciiDigit(fraction[i]) || (i >= 4 && fraction[i] != '0')) return false;
        var significant = fraction.Length > 4 ? fraction[..4] : fraction;
        Span<char> exact = stackalloc char[whole.Length + significant.Length + 2];
        var n = 0;
        if (whole.Length == 0) exact[n++] = '0'; else { whole.CopyTo(exact); n = whole.Length; }
        if (significant.Length > 0) { exact[n++] = '.'; significant.CopyTo(exact[n..]); n += significant.Length; }
        return decimal.TryParse(exact[..n], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value) && value <= Max;
    }
}

/// A money field of a JSON body: a JSON number or string, read from its text by MoneyText. The error names
/// the field (its JSON path), so the answer is `validation_failed` with `field`, never a rounded amount.
public sealed class MoneyJsonConverter : JsonConverter<decimal?>
{
    public sealed class Refused() : JsonException(MoneyText.Rule);

    public override bool HandleNull => false;

    public override decimal? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType is not (JsonTokenType.Number or JsonTokenType.String)) throw new Refused();
        // A number's raw bytes are its text; a string's may hold escapes, which a plain amount never needs.
        if (reader.HasValueSequence || reader.ValueIsEscaped || reader.ValueSpan.Length > 64) throw new Refused();
        Span<char> text = stackalloc char[reader.ValueSpan.Length];
        for (var i = 0; i < text.Length; i++) text[i] = (char)reader.ValueSpan[i];
        return MoneyText.TryParse(text, out var value) ? value : throw new Refused();
    }

    public override void Write(Utf8JsonWriter writer, decimal? value, JsonSerializerOptions options)
    {
        if (value is { } v) writer.WriteNumberValue(v); else writer.WriteNullValue();
    }
}
