namespace AffiliateTracker.Http;

/// Splits one CSV line (RFC 4180 quoting: "a, b" and "" for a quote). Written by hand to report errors by
/// line number while streaming; with the full NuGet feed CsvHelper would do. A quoted field may not span
/// lines (advertiser reports have none); such a line is reported malformed.
public static class CsvLine
{
    public static bool TrySplit(string line, List<string> fields, out string? error, char separator = ',')
    {
        fields.Clear();
        error = null;
        var i = 0;
        while (true)
        {
            if (i < line.Length && line[i] == '"')
            {
                var sb = new System.Text.StringBuilder();
                i++;
                while (true)
                {
                    if (i >= line.Length) { error = "unterminated quoted field"; return false; }
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    sb.Append(line[i++]);
                }
                fields.Add(sb.ToString());
                if (i < line.Length && line[i] != separator) { error = "text after a quoted field"; return false; }
            }
            else
            {
                var comma = line.IndexOf(separator, i);
                var end = comma < 0 ? line.Length : comma;
                fields.Add(line[i..end].Trim());
                i = end;
            }
            if (i >= line.Length) return true;
            i++; // past the comma
            if (i == line.Length) { fields.Add(""); return true; }
        }
    }
}
