namespace AffiliateTracker.Http;

/// One field of a CSV file we hand out (payout runs, reports): quoted when it must be, and with spreadsheet
/// formulas (=, +, -, @) defused in text a publisher or advertiser chose.
public static class CsvField
{
    public static string Of(string? s)
    {
        if (string.IsNullOrEmpty(s)) return "";
        if (s[0] is '=' or '+' or '-' or '@') s = "'" + s;
        return s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
    }
}
