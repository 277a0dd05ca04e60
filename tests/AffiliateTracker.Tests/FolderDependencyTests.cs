using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace AffiliateTracker.Tests;

/// The server's top-level folders are its features and its plumbing. A folder may use another only one way:
/// a cycle between two folders means neither can be understood, moved or tested without the other.
public sealed partial class FolderDependencyTests(ITestOutputHelper output)
{
    private static string SourceRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AffiliateTracker.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("AffiliateTracker.sln not found above the test binaries"),
            "src", "AffiliateTracker");
    }

    /// Which top-level folders each folder's code names: `using AffiliateTracker.X;`, or a type qualified with a
    /// folder's namespace (`Clicks.LandingUrl`, `AffiliateTracker.Http.InputText`), outside comments and strings.
    public static Dictionary<string, SortedSet<string>> Graph()
    {
        var root = SourceRoot();
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).ToHashSet()!;
        var graph = folders.ToDictionary(f => f!, _ => new SortedSet<string>(StringComparer.Ordinal));
        foreach (var folder in folders)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder!), "*.cs", SearchOption.AllDirectories))
            {
                var code = CommentsAndStrings().Replace(File.ReadAllText(file), " ");
                foreach (Match m in FolderReference().Matches(code))
                {
                    var used = m.Groups["folder"].Value;
                    if (used != folder && folders.Contains(used)) graph[folder!].Add(used);
                }
            }
        return graph;
    }

    [Fact]
    public void No_two_top_level_folders_depend_on_each_other_even_through_others()
    {
        var graph = Graph();
        foreach (var (folder, uses) in graph.OrderBy(g => g.Key)) output.WriteLine($"{folder} -> {string.Join(", ", uses)}");

        var cycles = new List<string>();
        foreach (var start in graph.Keys)
        {
            // Breadth-first from each folder: reaching it again is a cycle; the path says through which folders.
            var from = new Dictionary<string, string> { [start] = "" };
            var queue = new Queue<string>([start]);
            while (queue.Count > 0)
            {
                var at = queue.Dequeue();
                foreach (var next in graph[at])
                {
                    if (next == start)
                    {
                        var path = new List<string> { start };
                        for (var p = at; p != start; p = from[p]) path.Insert(1, p);
                        cycles.Add(string.Join(" -> ", path.Append(start)));
                        queue.Clear();
                        break;
                    }
                    if (from.TryAdd(next, at)) queue.Enqueue(next);
                }
            }
        }
        Assert.True(cycles.Count == 0, "cycles between folders:\n" + string.Join("\n", cycles.Distinct()));
    }

    // Line and block comments, and string literals (plain, verbatim and raw), which may name anything.
    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|""""""[\s\S]*?""""""|@""(?:[^""]|"""")*""|""(?:\\.|[^""\\\n])*""", RegexOptions.Singleline)]
    private static partial Regex CommentsAndStrings();

    [GeneratedRegex(@"(?:using\s+(?:static\s+)?AffiliateTracker\.|\bAffiliateTracker\.|(?<![\w.])(?=[A-Z]\w*\.[A-Z]))(?<folder>[A-Z]\w*)")]
    private static partial Regex FolderReference();
}
