using System.Collections.Concurrent;
using System.Text;

namespace AffiliateTracker.Abuse;

/// Counts every answer by class and endpoint, keeps what the checks after the run need (clicks that
/// landed, conversions answered "created", records answered 201), and collects violations.
public sealed class AbuseTally
{
    /// "429": rate limited, its own class (not a failure). "505 version": Kestrel refusing a request line that
    /// claims HTTP/2.0 or 9.9 (the protocol's answer, not a server failure). "503 health": /health reporting that a
    /// store did not answer within its 2 s (what it is for; on a loaded machine Redis can stall on its AOF's fsync).
    /// "aborted": the client hung up on purpose.
    public static readonly string[] Classes = ["1xx", "2xx", "3xx", "4xx", "429", "5xx", "505 version", "503 health", "no answer", "timeout", "aborted"];

    private readonly ConcurrentDictionary<string, long[]> _byEndpoint = new();
    private readonly long[] _total = new long[Classes.Length];
    private readonly ConcurrentDictionary<string, long> _violationCounts = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _examples = new();
    private readonly ConcurrentDictionary<string, long> _postbackResults = new();

    /// Click id → offer id, for every redirect that set the click cookie (the tracker recorded that click).
    public ConcurrentDictionary<string, long> LandedClicks { get; } = new();
    /// Conversion ids answered "created" by /postback.
    public ConcurrentDictionary<string, byte> CreatedConversions { get; } = new();
    /// Conversion ids named in "duplicate" or "updated" answers: they must exist too.
    public ConcurrentDictionary<string, byte> ReferencedConversions { get; } = new();
    /// Offers answered 201, with the number of goals the answer showed.
    public ConcurrentDictionary<long, int> CreatedOffers { get; } = new();
    public ConcurrentDictionary<long, byte> CreatedLinks { get; } = new();
    /// Reconciliations answered 201: rows read and malformed, as the answer said.
    public ConcurrentDictionary<long, (int Read, int Malformed)> CreatedReconciliations { get; } = new();

    private long _resolvedPostbacks;
    /// Postbacks answered after their click was found (created, duplicate, updated, or refused for the
    /// click's offer): each must be in the postback log under that offer.
    public long ResolvedPostbacks => Interlocked.Read(ref _resolvedPostbacks);
    public void CountResolvedPostback() => Interlocked.Increment(ref _resolvedPostbacks);

    public long Total => _total.Sum();
    public long Count(string cls) => Interlocked.Read(ref _total[Array.IndexOf(Classes, cls)]);
    public long Violations(string category) => _violationCounts.GetValueOrDefault(category);
    public long ViolationTotal => _violationCounts.Values.Sum();
    public IReadOnlyDictionary<string, long> ViolationCounts => _violationCounts;
    public IReadOnlyDictionary<string, long> PostbackResults => _postbackResults;

    public void Add(string endpoint, string cls)
    {
        var i = Array.IndexOf(Classes, cls);
        Interlocked.Increment(ref _total[i]);
        Interlocked.Increment(ref _byEndpoint.GetOrAdd(endpoint, _ => new long[Classes.Length])[i]);
    }

    public static string ClassOf(int status) => status switch
    {
        429 => "429",
        < 200 => "1xx",
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    };

    public void Violation(string category, string example)
    {
        _violationCounts.AddOrUpdate(category, 1, (_, n) => n + 1);
        var q = _examples.GetOrAdd(category, _ => new ConcurrentQueue<string>());
        if (q.Count < 8) q.Enqueue(example.Length > 600 ? example[..600] + "..." : example);
    }

    public void PostbackResult(string result) => _postbackResults.AddOrUpdate(result, 1, (_, n) => n + 1);

    public string Table()
    {
        var sb = new StringBuilder();
        var rows = _byEndpoint.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (Key: e.Key, Value: e.Value)).Append((Key: "TOTAL", Value: _total)).ToList();
        var width = Math.Max(30, rows.Max(r => r.Key.Length) + 2);
        sb.Append("endpoint".PadRight(width)).Append("requests".PadLeft(9));
        foreach (var c in Classes) sb.Append(c.PadLeft(Math.Max(7, c.Length + 2)));
        sb.AppendLine();
        foreach (var (name, counts) in rows)
        {
            if (name == "TOTAL") sb.AppendLine(new string('-', width + 9 + Classes.Sum(c => Math.Max(7, c.Length + 2))));
            sb.Append(name.PadRight(width)).Append(counts.Sum().ToString("N0").PadLeft(9));
            for (var i = 0; i < Classes.Length; i++) sb.Append(counts[i].ToString("N0").PadLeft(Math.Max(7, Classes[i].Length + 2)));
            sb.AppendLine();
        }
        return sb.ToString();
    }

    public string ViolationReport()
    {
        if (_violationCounts.IsEmpty) return "violations: none\n";
        var sb = new StringBuilder("violations:\n");
        foreach (var (category, n) in _violationCounts.OrderBy(v => v.Key))
        {
            sb.Append("  ").Append(category).Append(": ").Append(n).AppendLine();
            foreach (var e in _examples[category]) sb.Append("      ").AppendLine(e.Replace("\r", "\\r").Replace("\n", "\\n"));
        }
        return sb.ToString();
    }
}
