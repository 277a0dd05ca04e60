using AffiliateTracker.Network;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AffiliateTracker.Conversions;

/// The Redis side of a conversion. Each script touches only keys of the offer's shard slot, so dedupe,
/// cap counting and the append to the stream happen atomically: a postback answered 200 is in the stream
/// (Redis AOF) exactly once, however many identical postbacks race.
public sealed class ConversionRecorder(RecordingConnections recording, RedisKeys keys,
    ReplicaAcks replicaAcks, IOptions<ConversionOptions> options, ILogger<ConversionRecorder> log) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => _creates.DisposeAsync();

    /// Unconfirmed: a browser reported it and the advertiser has not confirmed it yet.
    public sealed record Created(bool IsNew, string ConversionId, string Status, string[] Flags, bool Unconfirmed);
    public enum ChangeResult { NotFound, Unchanged, Changed, NotAllowed, HeldForReview, NeedsConfirmation }
    public enum ConfirmResult { NotFound, AlreadyConfirmed, Confirmed }

    // The dedupe record is "id|status", then "|review" while a flag waits for an admin, then "|unconfirmed"
    // while a conversion an unsigned pixel reported waits for the advertiser's confirmation.
    //
    // A batch of creations in one shard; per item 7 KEYS (dedupe, stream, offer-day, offer-month, pub-day,
    // pub-month, ip-day) and 13 ARGV (id, status, dedupe ttl ms, payload, 4 caps (0 = none), day ttl ms,
    // month ttl ms, ip limit (0 = none), '1' when already flagged, '1' when unconfirmed); then one last ARGV,
    // '1' to append the call's new conversions as one "cb" entry (ConversionCodec.DecodeBatch), '0' for one
    // "c" entry each (what servers from before Conversions:BinaryStreams read). Items run in order, so the same
    // conversion twice in one batch is created once.
    private const string CreateScript = """
        local batched = ARGV[#ARGV] == '1'
        local made = {}
        local function create(k, a)
          local existing = redis.call('GET', KEYS[k + 1])
          if existing then
            -- Written again unchanged: a write moves this connection's replication offset past the record, so
            -- the batch's WAIT (Redis:ReplicaAcks) also covers it when another connection first wrote it.
            redis.call('SET', KEYS[k + 1], existing, 'KEEPTTL')
            local id, current, marks = string.match(existing, '^([^|]*)|([^|]*)(.*)$')
            return {0, id .. '|' .. current, '', marks}
          end
          local flags = {}
          local over = false
          for i = 3, 6 do
            local n = redis.call('INCR', KEYS[k + i])
            if n == 1 then redis.call('PEXPIRE', KEYS[k + i], (i == 3 or i == 5) and ARGV[a + 9] or ARGV[a + 10]) end
            local cap = tonumber(ARGV[a + i + 2])
            if cap > 0 and n > cap then over = true end
          end
          if over then table.insert(flags, 'over_cap') end
          local ipn = redis.call('INCR', KEYS[k + 7])
          if ipn == 1 then redis.call('PEXPIRE', KEYS[k + 7], ARGV[a + 9]) end
          local iplimit = tonumber(ARGV[a + 11])
          if iplimit > 0 and ipn > iplimit then table.insert(flags, 'ip_velocity') end
          local status = ARGV[a + 2]
          local review = ''
          if #flags > 0 or ARGV[a + 12] == '1' then
            review = '|review'
            if status == 'approved' then status = 'pending' end
          end
          local unconfirmed = ARGV[a + 13] == '1' and '|unconfirmed' or ''
          local f = table.concat(flags, ',')
          redis.call('SET', KEYS[k + 1], ARGV[a + 1] .. '|' .. status .. review .. unconfirmed, 'PX', ARGV[a + 3])
          if batched then
            local n = #made
            made[n + 1] = struct.pack('<i4', #f); made[n + 2] = f
            made[n + 3] = struct.pack('<i4', #ARGV[a + 4]); made[n + 4] = ARGV[a + 4]
          else
            redis.call('XADD', KEYS[k + 2], '*', 't', 'c', 'd', ARGV[a + 4], 'f', f)
          end
          return {1, ARGV[a + 1] .. '|' .. status, f, unconfirmed}
        end
        local out = {}
        for i = 0, #KEYS / 7 - 1 do out[i + 1] = create(i * 7, i * 13) end
        -- One entry for the call (every item's stream key is the same: the batcher groups by shard), so a burst
        -- of postbacks costs the stream, and the flusher's read, acknowledgement and delete, one entry, not one each.
        if #made > 0 then redis.call('XADD', KEYS[2], '*', 't', 'cb', 'd', table.concat(made)) end
        return out
        """;

    // Concurrent creations go to Redis together: one script call per shard for a whole batch of postbacks.
    private readonly RedisBatcher<(RedisKey[] Keys, RedisValue[] Args), RedisResult> _creates = new(async batch =>
    {
        var redis = recording.Next();
        var writer = replicaAcks.Begin(redis);
        var database = redis.GetDatabase();
        var results = new RedisResult[batch.Count];
        var calls = new List<(int[] Indexes, Task<RedisResult> Result)>();
        // Every key of an item is in its shard's slot ({cv:N}); the stream key (index 1) names the shard.
        foreach (var g in Enumerable.Range(0, batch.Count).GroupBy(i => batch[i].Keys[1]))
        {
            var indexes = g.ToArray();
            calls.Add((indexes, database.ScriptEvaluateAsync(CreateScript,
                indexes.SelectMany(i => batch[i].Keys).ToArray(), [.. indexes.SelectMany(i => batch[i].Args), options.Value.BinaryStreams ? "1" : "0"])));
        }
        foreach (var (indexes, call) in calls)
        {
            var r = (RedisResult[])(await call)!;
            for (var j = 0; j < indexes.Length; j++) results[indexes[j]] = r[j];
        }
        // One WAIT per primary for the whole batch: on a timeout every postback of it answers 503 and is retried
        // by its advertiser, and the retry finds the dedupe record (duplicate) or, after a failover that lost
        // it, records the conversion again.
        await replicaAcks.ConfirmAsync(writer, batch.Select(b => b.Keys[1]).Distinct());
        return results;
    });

    // KEYS: dedupe, stream. ARGV: new status, payload, statuses it may change from (comma-separated)
    private const string ChangeScript = """
        local existing = redis.call('GET', KEYS[1])
        if not existing then return {-1, ''} end
        local id, current, marks = string.match(existing, '^([^|]*)|([^|]*)(.*)$')
        if current == ARGV[1] then
          redis.call('SET', KEYS[1], existing, 'KEEPTTL') -- so WAIT covers it (see CreateScript)
          return {0, id .. '|' .. current}
        end
        if not string.find(',' .. ARGV[3] .. ',', ',' .. current .. ',', 1, true) then return {2, id .. '|' .. current} end
        -- A browser-reported conversion is confirmed (ConfirmScript) before the advertiser's approval applies.
        if ARGV[1] == 'approved' and string.find(marks, '|unconfirmed', 1, true) then return {4, id .. '|' .. current} end
        -- A flagged conversion is approved only by an admin; the advertiser may still reject it.
        if ARGV[1] == 'approved' and string.find(marks, '|review', 1, true) then return {3, id .. '|' .. current} end
        redis.call('SET', KEYS[1], id .. '|' .. ARGV[1] .. marks, 'KEEPTTL')
        redis.call('XADD', KEYS[2], '*', 't', 's', 'id', id, 'd', ARGV[2])
        return {1, id .. '|' .. ARGV[1]}
        """;

    public async Task<Created> CreateAsync(ConversionCreated c, OfferConfig offer, Caps? publisherCaps, int ipLimit, TimeSpan dedupeTtl, DateTimeOffset now)
    {
        var day = RedisKeys.Day(now);
        var month = RedisKeys.Month(now);
        RedisKey[] k =
        [
            keys.ConversionDedupe(c.OfferId, c.Goal, c.DedupeKey), keys.ConversionStream(keys.ConversionShard(c.OfferId)),
            keys.ConversionCounter(c.OfferId, null, day), keys.ConversionCounter(c.OfferId, null, month),
            keys.ConversionCounter(c.OfferId, c.PublisherId, day), keys.ConversionCounter(c.OfferId, c.PublisherId, month),
            keys.ConversionIpCounter(c.OfferId, c.ClickIp ?? "unknown", day),
        ];
        RedisValue[] a =
        [
            c.Id, c.Status, (long)dedupeTtl.TotalMilliseconds, options.Value.BinaryStreams ? ConversionCodec.Encode(c) : ConversionJson.Serialize(c),
            offer.Caps.DailyConversions ?? 0, offer.Caps.MonthlyConversions ?? 0,
            publisherCaps?.DailyConversions ?? 0, publisherCaps?.MonthlyConversions ?? 0,
            (long)TimeSpan.FromDays(2).TotalMilliseconds, (long)TimeSpan.FromDays(32).TotalMilliseconds,
            c.ClickIp is null ? 0 : ipLimit,
            c.Flags.Length > 0 ? "1" : "0",
            c.AwaitingConfirmation ? "1" : "0",
        ];
        var r = (RedisResult[])(await _creates.RunAsync((k, a)))!;
        var (id, status) = Split((string)r[1]!);
        var flags = ((string?)r[2] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        return new Created((int)r[0] == 1, id, status, flags, ((string?)r[3] ?? "").Contains("|unconfirmed", StringComparison.Ordinal));
    }

    // KEYS: dedupe, stream. ARGV: payload. Takes the "|unconfirmed" mark off and appends the confirmation
    // (with the advertiser's amount) once: a second confirmation finds no mark and changes nothing.
    private const string ConfirmScript = """
        local existing = redis.call('GET', KEYS[1])
        if not existing then return {-1, ''} end
        local id, current, marks = string.match(existing, '^([^|]*)|([^|]*)(.*)$')
        local i = string.find(marks, '|unconfirmed', 1, true)
        if not i then
          redis.call('SET', KEYS[1], existing, 'KEEPTTL') -- so WAIT covers it (see CreateScript)
          return {0, id .. '|' .. current}
        end
        marks = string.sub(marks, 1, i - 1) .. string.sub(marks, i + 12)
        redis.call('SET', KEYS[1], id .. '|' .. current .. marks, 'KEEPTTL')
        redis.call('XADD', KEYS[2], '*', 't', 'm', 'id', id, 'd', ARGV[1])
        return {1, id .. '|' .. current}
        """;

    public async Task<(ConfirmResult Result, string? ConversionId, string? Status)> ConfirmAsync(ConversionConfirmed confirmation)
    {
        var stream = keys.ConversionStream(keys.ConversionShard(confirmation.OfferId));
        var redis = recording.Next();
        var writer = replicaAcks.Begin(redis);
        var r = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(ConfirmScript,
            [keys.ConversionDedupe(confirmation.OfferId, confirmation.Goal, confirmation.DedupeKey), stream],
            [ConversionJson.Serialize(confirmation)]))!;
        await replicaAcks.ConfirmAsync(writer, [stream]);
        if ((int)r[0] == -1) return (ConfirmResult.NotFound, null, null);
        var (id, status) = Split((string)r[1]!);
        return ((int)r[0] == 1 ? ConfirmResult.Confirmed : ConfirmResult.AlreadyConfirmed, id, status);
    }

    public async Task<(ChangeResult Result, string? ConversionId, string? Status)> ChangeStatusAsync(
        long offerId, string goal, string dedupeKey, ConversionStatusChanged change)
    {
        var stream = keys.ConversionStream(keys.ConversionShard(offerId));
        var redis = recording.Next();
        var writer = replicaAcks.Begin(redis);
        var r = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(ChangeScript,
            [keys.ConversionDedupe(offerId, goal, dedupeKey), stream],
            [change.To, ConversionJson.Serialize(change), string.Join(',', ConversionStatus.AllowedFrom(change.To))]))!;
        await replicaAcks.ConfirmAsync(writer, [stream]);
        var code = (int)r[0];
        if (code == -1) return (ChangeResult.NotFound, null, null);
        var (id, status) = Split((string)r[1]!);
        return (code switch
        {
            0 => ChangeResult.Unchanged, 1 => ChangeResult.Changed, 3 => ChangeResult.HeldForReview, 4 => ChangeResult.NeedsConfirmation,
            _ => ChangeResult.NotAllowed,
        }, id, status);
    }

    // KEYS: dedupe. ARGV: id, expected current status ('' = any), new status, keep review mark ('1'/'0').
    // An approval through the API is also the confirmation an unconfirmed conversion waited for.
    private const string RememberScript = """
        local existing = redis.call('GET', KEYS[1])
        if not existing then return 0 end
        local id, current, marks = string.match(existing, '^([^|]*)|([^|]*)(.*)$')
        if id ~= ARGV[1] or (ARGV[2] ~= '' and current ~= ARGV[2]) then return 0 end
        local review = (ARGV[4] == '1' and string.find(marks, '|review', 1, true)) and '|review' or ''
        local unconfirmed = (ARGV[3] ~= 'approved' and string.find(marks, '|unconfirmed', 1, true)) and '|unconfirmed' or ''
        redis.call('SET', KEYS[1], id .. '|' .. ARGV[3] .. review .. unconfirmed, 'KEEPTTL')
        return 1
        """;

    /// After an admin, the advertiser through the API, or the hold worker changed a status in PostgreSQL:
    /// keep the dedupe record in step, so a later postback is answered against the truth. Compare-and-set:
    /// it changes only the record of this conversion, and only from the status the change started from
    /// (a newer change already in Redis wins). A human decision clears the review mark. Best effort: the
    /// status in PostgreSQL is the record, and a Redis outage must not fail the change.
    public async Task RememberStatusAsync(long offerId, string goal, string dedupeKey, string conversionId, string from, string to, bool reviewed)
    {
        try
        {
            await recording.Next().GetDatabase().ScriptEvaluateAsync(RememberScript, [keys.ConversionDedupe(offerId, goal, dedupeKey)],
                [conversionId, from, to, reviewed ? "0" : "1"]);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            log.LogWarning(e, "Conversion {ConversionId} is {Status} in PostgreSQL; its Redis record was not updated", conversionId, to);
        }
    }

    /// When PostgreSQL already held this conversion under another id (the Redis record was lost and made
    /// again), point the record at the id PostgreSQL kept, so later status postbacks reach it.
    public async Task RepointAsync(long offerId, string goal, string dedupeKey, string conversionId, string status)
    {
        try
        {
            await recording.Next().GetDatabase().StringSetAsync(keys.ConversionDedupe(offerId, goal, dedupeKey), $"{conversionId}|{status}", expiry: null, keepTtl: true, when: When.Exists);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            log.LogWarning(e, "Redis record of conversion {ConversionId} not re-pointed", conversionId);
        }
    }

    private static (string Id, string Status) Split(string value)
    {
        var sep = value.IndexOf('|');
        return (value[..sep], value[(sep + 1)..]);
    }
}
