using StackExchange.Redis;

namespace AffiliateTracker.Storage;

/// The stream commands every flusher uses, on StackExchange.Redis's stream API, and the one thing it has no
/// command for: acknowledging and deleting entries atomically.
public static class RedisStreams
{
    /// One stream entry: its id and its fields ("d" holds the payload by convention).
    public sealed record Entry(string Id, IReadOnlyDictionary<string, byte[]> Fields)
    {
        public byte[] Payload => Fields.TryGetValue(PayloadField, out var d) ? d : [];
        public string? Field(string name) => Fields.TryGetValue(name, out var v) ? System.Text.Encoding.UTF8.GetString(v) : null;
    }

    public const string PayloadField = "d";

    public static Task<RedisValue> AddAsync(this IDatabase db, string stream, byte[] payload) =>
        db.StreamAddAsync(stream, PayloadField, payload);

    public static async Task EnsureGroupAsync(this IDatabase db, string stream, string group)
    {
        try
        {
            await db.StreamCreateConsumerGroupAsync(stream, group, StreamPosition.Beginning, createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP"))
        {
            // Already there: another instance or an earlier start created it.
        }
    }

    /// New entries for this consumer (no BLOCK: blocking would stall the shared multiplexer).
    public static async Task<List<Entry>> ReadGroupAsync(this IDatabase db, string stream, string group, string consumer, int count) =>
        ToEntries(await db.StreamReadGroupAsync(stream, group, consumer, StreamPosition.NewMessages, count));

    /// Takes over entries another consumer read but did not acknowledge within minIdle (it crashed or hung).
    public static async Task<List<Entry>> AutoClaimAsync(this IDatabase db, string stream, string group, string consumer, TimeSpan minIdle, int count) =>
        ToEntries((await db.StreamAutoClaimAsync(stream, group, consumer, (long)minIdle.TotalMilliseconds, "0-0", count)).ClaimedEntries);

    // XACK and XDEL as one script, so they happen together or not at all: sent as two commands, a process killed
    // between them left entries acknowledged but never deleted, which no consumer is ever given again (found by
    // tests/fault: /health then reported a backlog whose age grew forever). One key: Cluster-safe.
    private const string AckAndDeleteScript = """
        redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
        return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
        """;

    /// Acknowledge and delete atomically in one round trip: an entry is gone from the stream once it is in PostgreSQL.
    public static Task AckAndDeleteAsync(this IDatabase db, string stream, string group, IReadOnlyList<string> ids)
    {
        // Lua's unpack takes some 8,000 values at most: very large batches go in atomic chunks.
        const int chunk = 4000;
        var calls = new List<Task>(ids.Count / chunk + 1);
        for (var from = 0; from < ids.Count; from += chunk)
        {
            var n = Math.Min(chunk, ids.Count - from);
            var args = new RedisValue[n + 1];
            args[0] = group;
            for (var i = 0; i < n; i++) args[i + 1] = ids[from + i];
            calls.Add(db.ScriptEvaluateAsync(AckAndDeleteScript, [(RedisKey)stream], args));
        }
        return Task.WhenAll(calls);
    }

    /// Age of the oldest entry not yet flushed, from its id's millisecond timestamp; null when empty.
    public static async Task<(long Length, DateTimeOffset? Oldest)> BacklogAsync(this IDatabase db, string stream)
    {
        var lengthTask = db.StreamLengthAsync(stream);
        var firstTask = db.StreamRangeAsync(stream, "-", "+", count: 1);
        var length = await lengthTask;
        var first = await firstTask;
        return (length, first.Length == 0 ? null : EntryTime(first[0].Id!));
    }

    /// An entry id is "milliseconds-sequence": when Redis appended it.
    public static DateTimeOffset EntryTime(string id) =>
        long.TryParse(id.AsSpan(0, Math.Max(0, id.IndexOf('-'))), out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.UtcNow;

    private static List<Entry> ToEntries(StreamEntry[] entries)
    {
        var list = new List<Entry>(entries.Length);
        foreach (var e in entries)
        {
            if (e.IsNull) continue;
            var fields = new Dictionary<string, byte[]>(e.Values.Length);
            foreach (var v in e.Values) fields[v.Name!] = (byte[])v.Value!;
            list.Add(new Entry(e.Id!, fields));
        }
        return list;
    }
}
