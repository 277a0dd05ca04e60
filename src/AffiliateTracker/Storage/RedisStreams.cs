using StackExchange.Redis;

namespace AffiliateTracker.Storage;

/// Stream commands for StackExchange.Redis 1.2.6, which has no stream methods: they go through
/// ExecuteAsync. Keeping them here makes an upgrade to 2.x (native stream API) a change in one file.
public static class RedisStreams
{
    /// One stream entry: its id and its fields ("d" holds the payload by convention).
    public sealed record Entry(string Id, IReadOnlyDictionary<string, byte[]> Fields)
    {
        public byte[] Payload => Fields.TryGetValue(PayloadField, out var d) ? d : [];
        public string? Field(string name) => Fields.TryGetValue(name, out var v) ? System.Text.Encoding.UTF8.GetString(v) : null;
    }

    public const string PayloadField = "d";

    public static Task AddAsync(this IDatabase db, string stream, byte[] payload) =>
        db.ExecuteAsync("XADD", (RedisKey)stream, "*", PayloadField, payload);

    public static async Task EnsureGroupAsync(this IDatabase db, string stream, string group)
    {
        try
        {
            await db.ExecuteAsync("XGROUP", "CREATE", (RedisKey)stream, group, "0", "MKSTREAM");
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP"))
        {
            // Already there: another instance or an earlier start created it.
        }
    }

    /// New entries for this consumer (no BLOCK: blocking would stall the shared multiplexer).
    public static async Task<List<Entry>> ReadGroupAsync(this IDatabase db, string stream, string group, string consumer, int count)
    {
        var result = await db.ExecuteAsync("XREADGROUP", "GROUP", group, consumer, "COUNT", count, "STREAMS", (RedisKey)stream, ">");
        if (result.IsNull) return [];
        var streams = (RedisResult[])result!;
        return streams.Length == 0 ? [] : ParseEntries(((RedisResult[])streams[0]!)[1]);
    }

    /// Takes over entries another consumer read but did not acknowledge within minIdle (it crashed or hung).
    public static async Task<List<Entry>> AutoClaimAsync(this IDatabase db, string stream, string group, string consumer, TimeSpan minIdle, int count)
    {
        var result = (RedisResult[])(await db.ExecuteAsync("XAUTOCLAIM", (RedisKey)stream, group, consumer,
            (long)minIdle.TotalMilliseconds, "0-0", "COUNT", count))!;
        return ParseEntries(result[1]);
    }

    /// Acknowledge and delete in one round trip: an entry is gone from the stream once it is in PostgreSQL.
    public static Task AckAndDeleteAsync(this IDatabase db, string stream, string group, IReadOnlyList<string> ids)
    {
        var ackArgs = new object[ids.Count + 2];
        ackArgs[0] = (RedisKey)stream; ackArgs[1] = group;
        var delArgs = new object[ids.Count + 1];
        delArgs[0] = (RedisKey)stream;
        for (var i = 0; i < ids.Count; i++) { ackArgs[i + 2] = ids[i]; delArgs[i + 1] = ids[i]; }
        return Task.WhenAll(db.ExecuteAsync("XACK", ackArgs), db.ExecuteAsync("XDEL", delArgs));
    }

    /// Age of the oldest entry not yet flushed, from its id's millisecond timestamp; null when empty.
    public static async Task<(long Length, DateTimeOffset? Oldest)> BacklogAsync(this IDatabase db, string stream)
    {
        var lengthTask = db.ExecuteAsync("XLEN", (RedisKey)stream);
        var firstTask = db.ExecuteAsync("XRANGE", (RedisKey)stream, "-", "+", "COUNT", 1);
        var length = (long)await lengthTask;
        var first = (RedisResult[])(await firstTask)!;
        if (first.Length == 0) return (length, null);
        return (length, EntryTime((string)((RedisResult[])first[0]!)[0]!));
    }

    /// An entry id is "milliseconds-sequence": when Redis appended it.
    public static DateTimeOffset EntryTime(string id) =>
        long.TryParse(id.AsSpan(0, Math.Max(0, id.IndexOf('-'))), out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.UtcNow;

    private static List<Entry> ParseEntries(RedisResult entriesResult)
    {
        var list = new List<Entry>();
        if (entriesResult.IsNull) return list;
        foreach (var e in (RedisResult[])entriesResult!)
        {
            var parts = (RedisResult[])e!;
            var id = (string)parts[0]!;
            var fields = new Dictionary<string, byte[]>(2);
            if (!parts[1].IsNull)
            {
                var raw = (RedisResult[])parts[1]!;
                for (var i = 0; i + 1 < raw.Length; i += 2) fields[(string)raw[i]!] = (byte[])raw[i + 1]!;
            }
            list.Add(new Entry(id, fields));
        }
        return list;
    }
}
