using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AffiliateTracker.Storage;

/// Redis replicates asynchronously: a primary that dies before its replica copied a write takes the write with
/// it when the replica is promoted. With Redis:ReplicaAcks set, a batch is acknowledged only after `WAIT`
/// says that many replicas have everything this connection wrote to the batch's primaries so far.
public sealed class ReplicaAcks
{
    private readonly int _replicas;
    private readonly long _timeoutMs;

    public ReplicaAcks(IOptions<RedisOptions> options)
    {
        var o = options.Value;
        // WAIT with timeout 0 blocks for ever, and one longer than the client's own timeout (5 s) fails the call while
        // the connection stays blocked behind it.
        if (o.ReplicaAcks is < 0 or > 5) throw new InvalidOperationException("Redis:ReplicaAcks must be between 0 and 5");
        if (o.ReplicaAcks > 0 && (o.ReplicaAckTimeout < TimeSpan.FromMilliseconds(10) || o.ReplicaAckTimeout > TimeSpan.FromSeconds(4)))
            throw new InvalidOperationException("Redis:ReplicaAckTimeout must be between 00:00:00.010 and 00:00:04");
        if (o.RecordingConnections is < 1 or > 64) throw new InvalidOperationException("Redis:RecordingConnections must be between 1 and 64");
        _replicas = o.ReplicaAcks;
        _timeoutMs = (long)o.ReplicaAckTimeout.TotalMilliseconds;
    }

    public bool Enabled => _replicas > 0;

    /// The connection a batch is written on, and its generation then: a WAIT counts only what its own connection
    /// wrote, so a batch whose connection broke and came back between the write and the WAIT is not confirmed by it.
    public Writer Begin(ConnectionMultiplexer connection) => new(connection, Enabled ? Generation(connection) : 0);

    public readonly record struct Writer(ConnectionMultiplexer Connection, long Generation);

    /// One WAIT per primary the keys live on, sent on the connection that wrote them (WAIT counts that
    /// connection's writes). Throws ReplicaAckTimeoutException when a primary's replicas did not answer in time.
    /// (A write that followed an ASK redirect, during a slot migration, is waited for on the slot's old primary:
    /// the client's slot map moves only at the end of a migration. docs/scaling.md says what that leaves.)
    public async Task ConfirmAsync(Writer writer, IEnumerable<RedisKey> written)
    {
        if (!Enabled) return;
        var connection = writer.Connection;
        var db = connection.GetDatabase();
        var primaries = new HashSet<System.Net.EndPoint>();
        foreach (var key in written)
            if (await db.IdentifyEndpointAsync(key) is { } endpoint) primaries.Add(endpoint);
        var waits = primaries.Select(async endpoint =>
        {
            var acked = (long)await connection.GetServer(endpoint).ExecuteAsync("WAIT", _replicas, _timeoutMs);
            if (acked < _replicas)
                throw new ReplicaAckTimeoutException($"{acked} of {_replicas} replicas acknowledged within {_timeoutMs} ms");
        });
        await Task.WhenAll(waits);
        if (Generation(connection) != writer.Generation)
            throw new ReplicaAckTimeoutException("the connection was re-established between the write and its WAIT");
    }

    // Counts the connection's failures and restorations; a changed count means the WAIT may not have seen the write.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ConnectionMultiplexer, StrongBoxLong> Generations = new();
    private sealed class StrongBoxLong { public long Value; }

    private static long Generation(ConnectionMultiplexer connection)
    {
        var box = Generations.GetValue(connection, c =>
        {
            var b = new StrongBoxLong();
            c.ConnectionFailed += (_, _) => Interlocked.Increment(ref b.Value);
            c.ConnectionRestored += (_, _) => Interlocked.Increment(ref b.Value);
            return b;
        });
        return Interlocked.Read(ref box.Value);
    }
}

/// The connections clicks and postbacks are recorded on: the request connection when nothing waits for replicas;
/// with Redis:ReplicaAcks, Redis:RecordingConnections of their own, used in turn. WAIT blocks the connection it is
/// sent on until the replicas answer, so on a single connection the group commits in flight would queue behind
/// each other's WAIT; a batch writes and waits on one connection, and the next batch takes the next one.
public sealed class RecordingConnections(ConnectionMultiplexer[] connections)
{
    private int _next;
    public ConnectionMultiplexer Next() => connections.Length == 1 ? connections[0]
        : connections[(int)((uint)Interlocked.Increment(ref _next) % (uint)connections.Length)];
}

/// Not on enough replicas in time: the write may be lost if its primary fails now, so it is not acknowledged.
public sealed class ReplicaAckTimeoutException(string message) : RedisException(message);
