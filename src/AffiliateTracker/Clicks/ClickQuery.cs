using Microsoft.AspNetCore.WebUtilities;

namespace AffiliateTracker.Clicks;

/// The parameters a click reads from its query string, in one pass, without the request's query collection (a
/// dictionary built for every redirect). As with the collection, names are case-insensitive and '+' and %-escapes
/// are decoded; the first value counts when a parameter is repeated, and empty means absent.
public readonly record struct ClickQuery(string? Sub1, string? Sub2, string? Sub3, string? Sub4, string? Sub5, string? Source,
    string? Cost, string? CostCurrency, string? Url)
{
    public static ClickQuery Parse(QueryString query)
    {
        string? sub1 = null, sub2 = null, sub3 = null, sub4 = null, sub5 = null, source = null, cost = null, costCurrency = null, url = null;
        foreach (var pair in new QueryStringEnumerable(query.Value))
        {
            var name = pair.EncodedName.Span;
            if (name.IndexOfAny('%', '+') >= 0) name = pair.DecodeName().Span;
            switch (name.Length)
            {
                case 4 when Is(name, "sub1"): sub1 ??= Value(pair); break;
                case 4 when Is(name, "sub2"): sub2 ??= Value(pair); break;
                case 4 when Is(name, "sub3"): sub3 ??= Value(pair); break;
                case 4 when Is(name, "sub4"): sub4 ??= Value(pair); break;
                case 4 when Is(name, "sub5"): sub5 ??= Value(pair); break;
                case 4 when Is(name, "cost"): cost ??= Value(pair); break;
                case 6 when Is(name, "source"): source ??= Value(pair); break;
                case 13 when Is(name, "cost_currency"): costCurrency ??= Value(pair); break;
                case 3 when Is(name, "url"): url ??= Value(pair); break;
            }
        }
        return new(Empty(sub1), Empty(sub2), Empty(sub3), Empty(sub4), Empty(sub5), Empty(source), Empty(cost), Empty(costCurrency), Empty(url));
    }

    private static bool Is(ReadOnlySpan<char> name, string expected) => name.Equals(expected, StringComparison.OrdinalIgnoreCase);

    private static string Value(QueryStringEnumerable.EncodedNameValuePair pair) =>
        pair.EncodedValue.IsEmpty ? "" : pair.DecodeValue().ToString();

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
