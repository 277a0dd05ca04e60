using System.Text;

namespace AffiliateTracker.Abuse;

/// JSON bodies for the management API: a valid body for the endpoint, then a few mutations (wrong
/// types, nulls, hostile strings, huge numbers, deep nesting, huge values, missing, duplicate and
/// unknown fields), and sometimes a broken document (truncated, invalid UTF-8, BOM, UTF-16, comments).
/// Written as text by hand, since a serializer cannot produce duplicate keys, 1e400 or lone surrogates.
public static class JsonFuzz
{
    /// A field value as raw JSON text.
    public static string Str(string s) => WireText.JsonString(s);
    public static string Num(decimal d) => d.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static readonly string[] WrongValues =
    [
        "null", "true", "false", "0", "-1", "1e400", "-1e400", "-0", "1.5", "99999999999999999999999", "\"\"", "\"x\"", "[]", "{}", "[1,2]",
        "{\"a\":1}", "\"1\"", "NaN", "Infinity", "-Infinity", "0x10", "01", "1.0e+308", "1e-400", "1E2", "2147483648", "-2147483649",
        "9223372036854775808", "\"2026-11-22T10:00:00Z\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"", "[null]", "{\"$ref\":\"#\"}", "undefined",
        "'single'", "\"\\x41\"", "\"\\u00\"", "\"unterminated",
    ];

    public static byte[] Body(Fuzz f, List<(string Key, string Raw)> fields, int mutations)
    {
        for (var m = 0; m < mutations; m++) Mutate(f, fields);
        var json = "{" + string.Join(",", fields.Select(p => Str(p.Key) + ":" + p.Raw)) + "}";
        return f.Chance(0.12) ? Break(f, json) : WireText.Utf8(json);
    }

    public static void Mutate(Fuzz f, List<(string Key, string Raw)> fields)
    {
        var i = fields.Count == 0 ? -1 : f.Next(fields.Count);
        var kind = f.Next(11);
        if (i < 0) kind = 6;
        switch (kind)
        {
            case 0: case 1: fields[i] = (fields[i].Key, f.Pick(WrongValues)); break;
            case 2: case 3: fields[i] = (fields[i].Key, Str(f.Nasty())); break;
            case 4: fields[i] = (fields[i].Key, Deep(f)); break;
            case 5: fields[i] = (fields[i].Key, Huge(f)); break;
            case 6: fields.Add((f.Pick(new[] { "__proto__", "constructor", "id", "created_at", "role", "is_admin", "x" + f.Next(100), "" }), f.Pick(WrongValues))); break;
            case 7: fields.RemoveAt(i); break;
            case 8: fields.Insert(f.Next(fields.Count + 1), (fields[i].Key, f.Pick(WrongValues))); break;
            case 9: fields[i] = (CaseVariant(f, fields[i].Key), fields[i].Raw); break;
            default: fields[i] = (fields[i].Key, "null"); break;
        }
    }

    private static string CaseVariant(Fuzz f, string key) => key.Length == 0 ? " " : f.Next(4) switch
    {
        0 => key.ToUpperInvariant(),
        1 => char.ToUpperInvariant(key[0]) + key[1..],
        2 => string.Concat(key.Split('_').Select((p, j) => j == 0 || p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..])),
        _ => key + " ",
    };

    public static string Deep(Fuzz f)
    {
        var depth = f.Pick(new[] { 10, 63, 64, 65, 200, 5000, 100_000 });
        var (open, close) = f.Chance(0.5) ? ("[", "]") : ("{\"a\":", "}");
        var sb = new StringBuilder(depth * (open.Length + close.Length) + 4);
        for (var i = 0; i < depth; i++) sb.Append(open);
        sb.Append("1");
        if (f.Chance(0.8)) for (var i = 0; i < depth; i++) sb.Append(close); // or left unclosed
        return sb.ToString();
    }

    public static string Huge(Fuzz f) => f.Next(3) switch
    {
        0 => Str(new string(f.Pick(new[] { 'a', 'é', '\'' }), f.Pick(new[] { 201, 5_000, 100_000, 1_000_000 }))),
        1 => "[" + string.Join(",", Enumerable.Repeat(f.Pick(new[] { "1", "null", "\"x\"", "{}" }), f.Pick(new[] { 1_000, 50_000 }))) + "]",
        _ => new string('9', f.Pick(new[] { 30, 400, 10_000 })) + (f.Chance(0.5) ? "." + new string('9', 400) : ""),
    };

    /// A document that is not valid JSON, or not UTF-8, or not an object.
    public static byte[] Break(Fuzz f, string json)
    {
        switch (f.Next(14))
        {
            case 0: return WireText.Utf8(json[..f.Next(json.Length)]);
            case 1: return WireText.Utf8(json + f.Pick(new[] { "}", "]", ",", "garbage", "\u0000", "{}", " // comment" }));
            case 2: return WireText.Utf8("[" + json + "]");
            case 3: return [0xEF, 0xBB, 0xBF, .. WireText.Utf8(json)];
            case 4: return WireText.Utf8(json.Replace('"', '\''));
            case 5: return WireText.Utf8(json.Replace("}", ",}"));
            case 6: return WireText.Utf8("/* abuse */" + json);
            case 7:
            {
                // Invalid UTF-8 inside a string: a stray byte, an overlong '/', an encoded surrogate.
                var bytes = WireText.Utf8(json).ToList();
                var quote = bytes.IndexOf((byte)'"', Math.Min(bytes.Count - 1, 1 + f.Next(Math.Max(1, bytes.Count - 1))));
                bytes.InsertRange(quote < 0 ? bytes.Count : quote + 1, f.Pick(new byte[][] { [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80] }));
                return [.. bytes];
            }
            case 8: return System.Text.Encoding.Unicode.GetPreamble().Concat(System.Text.Encoding.Unicode.GetBytes(json)).ToArray();
            case 9: return [];
            case 10: return WireText.Utf8(f.Pick(new[] { "null", "[]", "\"string\"", "12", "true", " ", "{", "}", "{\"a\"}", "{,}", "{\"a\":1,}" }));
            case 11: return WireText.Utf8(new string(' ', f.Pick(new[] { 1_000, 100_000 })) + json);
            case 12: return WireText.Utf8(json.Replace(":", ":\u0000"));
            default: return WireText.Utf8(json + json);
        }
    }
}
