using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AffiliateTracker.Storage;

/// Redis replicates asynchronously: a primary that dies before its replica copied a write takes the write with
/// it when the replica is promoted. With Redis:ReplicaAcks set, a batch is acknowledged only after `WAIT`
/// says that many replicas have everything this connection wrote to the batch's primaries so far.
public sealed class ReplicaAcks(IOptions<RedisOptions> options)
{
    private readonly int _replicas = options.Value.ReplicaAcks;
    private readonly long _timeoutMs = (long)options.Value.ReplicaAckTimeout.TotalMilliseconds;

    public bool Enabled => _replicas > 0;

    /// One WAIT per primary the keys live on, sent on the connection that wrote them (WAIT counts that
    /// connection's writes). Throws ReplicaAckTimeoutException when a primary's replicas did not answer in time.
    public async Task ConfirmAsync(ConnectionMultiplexer connection, IEnumerable<RedisKey> written)
    {
        if (!Enabled) return;
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
