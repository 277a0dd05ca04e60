using System.Text.RegularExpressions;
using AffiliateTracker.Http;

namespace AffiliateTracker.Access;

/// Field checks for management API bodies. Each throws ApiException naming the field and the rule, before
/// anything is written.
public static partial class Validate
{
    public static T Body<T>(T? body) where T : class => body ?? throw new ApiException(400, "bad_request", "A JSON body is required.");

    public static string Name(string? value, string field = "name")
    {
        if (string.IsNullOrWhiteSpace(value)) throw ApiException.Invalid(field, "is required");
        value = value.Trim();
        if (value.Length > 200) throw ApiException.Invalid(field, "must be at most 200 characters");
        if (value.Any(char.IsControl)) throw ApiException.Invalid(field, "may not contain control characters");
        return value;
    }

    /// Free text (a description, a message): trimmed, bounded, line breaks allowed but no other control characters.
    public static string Text(string? value, string field, int max)
    {
        value = (value ?? "").Trim();
        if (value.Length > max) throw ApiException.Invalid(field, $"must be at most {max} characters");
        if (value.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t')) throw ApiException.Invalid(field, "may not contain control characters");
        return value;
    }

    public static string OneOf(string? value, string field, params string[] allowed) =>
        value is not null && allowed.Contains(value) ? value
            : throw ApiException.Invalid(field, $"must be one of: {string.Join(", ", allowed)}");

    public static int Range(int value, string field, int min, int max) =>
        value < min || value > max ? throw ApiException.Invalid(field, $"must be between {min} and {max}") : value;

    /// A cap: null = unchanged/none, 0 = none, otherwise positive.
    public static int? Cap(int? value, string field) =>
        value switch { null or 0 => null, < 0 => throw ApiException.Invalid(field, "must be 0 (no cap) or positive"), _ => value };

    /// A money value's range. Its decimals were checked as text when the JSON body was read (MoneyJsonConverter).
    public static decimal Money(decimal value, string field, decimal max = 1_000_000_000m)
    {
        if (value < 0 || value > max) throw ApiException.Invalid(field, $"must be between 0 and {max}");
        return value;
    }

    public static string Currency(string? value) =>
        value is not null && CurrencyRegex().IsMatch(value) ? value : throw ApiException.Invalid("currency", "must be a three-letter ISO 4217 code such as USD");

    public static string GoalCode(string? value, string field = "code") =>
        value is not null && GoalRegex().IsMatch(value) ? value
            : throw ApiException.Invalid(field, "must be 1-50 characters of a-z, 0-9, _ or -");

    public static string[] Countries(string[]? value, string field = "allowed_countries")
    {
        if (value is null) return [];
        foreach (var c in value)
            if (c is null || !CountryRegex().IsMatch(c)) throw ApiException.Invalid(field, "must be ISO 3166-1 alpha-2 codes such as US");
        return value.Select(c => c.ToUpperInvariant()).Distinct().ToArray();
    }

    public static long Id(long? value, string field) =>
        value is > 0 ? value.Value : throw ApiException.Invalid(field, "is required and must be a positive id");

    [GeneratedRegex("^[A-Z]{3}$")] private static partial Regex CurrencyRegex();
    [GeneratedRegex("^[a-z0-9_-]{1,50}$")] private static partial Regex GoalRegex();
    [GeneratedRegex("^[A-Za-z]{2}$")] private static partial Regex CountryRegex();
}
