namespace AffiliateTracker.Abuse;

/// dotnet run -c Release --project tests/abuse/AffiliateTracker.Abuse -- --base http://127.0.0.1:5080 --admin-key KEY
///     [--requests 100000] [--concurrency 16] [--seed 1] [--postgres "Host=...;Database=..."] [--no-ledger-check] [--only 17,4711] [--where "raw:"]
/// Exit code 0 when every check passed, 1 on any violation, 2 on bad arguments.
public static class AbuseProgram
{
    public static async Task<int> Main(string[] args)
    {
        string? baseUrl = null, adminKey = Environment.GetEnvironmentVariable("ABUSE_ADMIN_KEY"), postgres = null;
        int requests = 100_000, concurrency = 16, seed = 1;
        int[]? only = null;
        string? where = null;
        var ledger = true;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--base": baseUrl = Value(); break;
                    case "--admin-key": adminKey = Value(); break;
                    case "--requests": requests = int.Parse(Value()); break;
                    case "--concurrency": concurrency = int.Parse(Value()); break;
                    case "--seed": seed = int.Parse(Value()); break;
                    case "--postgres": postgres = Value(); break;
                    case "--no-ledger-check": ledger = false; break;
                    case "--only": only = Value().Split(',').Select(int.Parse).ToArray(); break;
                    case "--where": where = Value(); break;
                    default: throw new ArgumentException($"Unknown option {args[i]}");
                }
            }
            if (baseUrl is null || adminKey is null) throw new ArgumentException("--base and --admin-key (or ABUSE_ADMIN_KEY) are required");
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine("usage: --base URL --admin-key KEY [--requests N] [--concurrency N] [--seed N] [--postgres CONNSTRING] [--no-ledger-check] [--only i,j] [--where LABEL]");
            return 2;
        }

        var options = new AbuseOptions(new Uri(baseUrl), adminKey)
        {
            Requests = requests, Concurrency = concurrency, Seed = seed, Postgres = postgres, LedgerCheck = ledger, Only = only, Where = where,
        };
        var outcome = await AbuseSuite.RunAsync(options, Console.Out);
        Console.WriteLine();
        Console.Write(outcome.Report());
        return outcome.Passed ? 0 : 1;
    }
}
