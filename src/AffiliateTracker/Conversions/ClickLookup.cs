using AffiliateTracker.Clicks;
using AffiliateTracker.Storage;
using Dapper;
using Npgsql;
using StackExchange.Redis;

namespace AffiliateTracker.Conversions;

/// Finds the click a conversion claims: in Redis while it is hot, then in PostgreSQL (the click id's
/// own timestamp names the partition, so the lookup is one index probe).
public sealed class ClickLookup : IAsyncDisposable
{
    private readonly RedisKeys _keys;
    private readonly NpgsqlDataSource _db;
    // Concurrent lookups are read together: one HMGET per attribution hash for a whole batch of postbacks.
    private readonly RedisBatcher<(string Hash, string ClickId), RedisValue> _reads;

    public ClickLookup(ConnectionMultiplexer redis, RedisKeys keys, NpgsqlDataSource db)
    {
        _keys = keys;
        _db = db;
        _reads = new(async batch =>
        {
            var database = redis.GetDatabase();
            var results = new RedisValue[batch.Count];
            var groups = new List<(int[] Indexes, Task<RedisValue[]> Values)>();
            foreach (var g in Enumerable.Range(0, batch.Count).GroupBy(i => batch[i].Hash))
            {
                var indexes = g.ToArray();
                groups.Add((indexes, database.HashGetAsync(g.Key, indexes.Select(i => (RedisValue)batch[i].ClickId).ToArray())));
            }
            foreach (var (indexes, values) in groups)
            {
                var v = await values;
                for (var j = 0; j < indexes.Length; j++) results[indexes[j]] = v[j];
            }
            return results;
        });
    }

    public async Task<ClickRecord?> FindAsync(string clickId)
    {
        // The id carries its time, which names the minute's attribution hash in Redis and the partition in PostgreSQL.
        if (!Ulid.TryGetTimestamp(clickId, out var createdAt)) return null;
        var shard = _keys.ClickShard(clickId);
        var hot = await _reads.RunAsync((_keys.ClickRecords(shard, createdAt), clickId));
        if (hot.HasValue) return ClickCodec.Decode((byte[])hot!);
        await using var conn = await _db.OpenConnectionAsync();
        var row = await conn.QuerySingleOrDefaultAsync<Row>("""
            SELECT click_id, created_at, offer_id, publisher_id, link_id, sub1, sub2, sub3, sub4, sub5, source,
                   host(ip) AS ip, country, is_bot
            FROM clicks WHERE click_id = @clickId AND created_at = @createdAt
            """, new { clickId, createdAt = createdAt.UtcDateTime });
        return row is null ? null : new ClickRecord(row.ClickId, new DateTimeOffset(row.CreatedAt, TimeSpan.Zero), row.OfferId, row.PublisherId,
            row.LinkId, row.Sub1, row.Sub2, row.Sub3, row.Sub4, row.Sub5, row.Source, row.Ip, null, null, row.Country?.Trim(), row.IsBot);
    }

    public ValueTask DisposeAsync() => _reads.DisposeAsync();

    private sealed class Row
    {
        public string ClickId { get; init; } = "";
        public DateTime CreatedAt { get; init; }
        public long OfferId { get; init; }
        public long PublisherId { get; init; }
        public long? LinkId { get; init; }
        public string? Sub1 { get; init; }
        public string? Sub2 { get; init; }
        public string? Sub3 { get; init; }
        public string? Sub4 { get; init; }
        public string? Sub5 { get; init; }
        public string? Source { get; init; }
        public string? Ip { get; init; }
        public string? Country { get; init; }
        public bool IsBot { get; init; }
    }
}
