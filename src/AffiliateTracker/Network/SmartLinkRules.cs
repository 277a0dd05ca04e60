using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using AffiliateTracker.Access;
using AffiliateTracker.Http;

namespace AffiliateTracker.Network;

/// A smart link's rules as the API takes them and as smart_links.rules stores them (JSON), checked on save.
public sealed record SmartRuleInput(string[]? Countries, string[]? DeviceTypes, string[]? Os, SmartOfferInput[]? Offers);
public sealed record SmartOfferInput(long? OfferId, int? Weight);

public static class SmartLinkRules
{
    /// What the redirect can tell from a user agent before answering (Clicks/DeviceGuess).
    public static readonly string[] DeviceTypes = ["desktop", "mobile", "tablet"];
    public static readonly string[] OsFamilies = ["android", "ios", "windows", "macos", "linux"];
    public const int MaxRules = 50, MaxOffersPerRule = 20, MaxWeight = 1000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// The rules in the stored form (every list present, lower case), or a 400 naming the field.
    public static SmartRuleInput[] Validated(SmartRuleInput[]? rules)
    {
        if (rules is null || rules.Length == 0) throw ApiException.Invalid("rules", "must hold at least one rule");
        if (rules.Length > MaxRules) throw ApiException.Invalid("rules", $"may hold at most {MaxRules} rules");
        var result = new SmartRuleInput[rules.Length];
        for (var i = 0; i < rules.Length; i++)
        {
            var r = rules[i] ?? throw ApiException.Invalid($"rules[{i}]", "must be an object");
            var field = $"rules[{i}]";
            var offers = r.Offers ?? [];
            if (offers.Length is 0 or > MaxOffersPerRule) throw ApiException.Invalid($"{field}.offers", $"must hold 1 to {MaxOffersPerRule} offers");
            result[i] = new SmartRuleInput(
                Validate.Countries(r.Countries ?? [], $"{field}.countries"),
                OneOf(r.DeviceTypes, $"{field}.device_types", DeviceTypes),
                OneOf(r.Os, $"{field}.os", OsFamilies),
                offers.Select((o, j) => new SmartOfferInput(
                    Validate.Id(o?.OfferId, $"{field}.offers[{j}].offer_id"),
                    Validate.Range(o?.Weight ?? 1, $"{field}.offers[{j}].weight", 1, MaxWeight))).ToArray());
            if (result[i].Offers!.Select(o => o.OfferId).Distinct().Count() != offers.Length)
                throw ApiException.Invalid($"{field}.offers", "must name each offer once");
        }
        return result;
    }

    public static string ToJson(SmartRuleInput[] rules) => JsonSerializer.Serialize(rules, Json);

    public static SmartRuleInput[] FromJson(string json) => JsonSerializer.Deserialize<SmartRuleInput[]>(json, Json) ?? [];

    /// The stored rules as the snapshot holds them.
    public static SmartRuleConfig[] Parse(string json) => FromJson(json).Select((r, i) => new SmartRuleConfig(i + 1,
        (r.Countries ?? []).ToFrozenSet(StringComparer.OrdinalIgnoreCase), (r.DeviceTypes ?? []).ToFrozenSet(), (r.Os ?? []).ToFrozenSet(),
        (r.Offers ?? []).Select(o => new SmartOfferWeight(o.OfferId ?? 0, o.Weight ?? 1)).ToArray())).ToArray();

    private static string[] OneOf(string[]? values, string field, string[] allowed)
    {
        if (values is null) return [];
        var result = values.Select(v => (v ?? "").Trim().ToLowerInvariant()).Distinct().ToArray();
        return result.All(allowed.Contains) ? result : throw ApiException.Invalid(field, $"must be a list of: {string.Join(", ", allowed)}");
    }
}
