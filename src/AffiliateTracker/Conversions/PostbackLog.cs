using System.Net;
using System.Threading.Channels;
using AffiliateTracker.Observability;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using StackExchange.Redis;

namespace AffiliateTracker.Conversions;

/// One inbound postback or pixel and what was decided; snake_case names are the postback_log columns.
public sealed record PostbackLogEntry(
    Guid EventId, DateTimeOffset ReceivedAt, string Via, long? AdvertiserId, long? OfferId, string? ClickId, string? Txid,
    string? Goal, string Decision, int HttpStatus, string? Message, string? ConversionId, string? RemoteIp, string? Query);

/// Every postback and pixel that created nothing is logged through a Redis stream, and a flusher moves the entries
/// to postback_log (one that created a conversion is logged by the conversion: the postback_log_entries view). The
/// answer never waits for its log entry: entries queue here, and one writer sends whatever has queued as one stream
/// entry (PostbackLogCodec) per round trip, so a burst of postbacks costs a few XADDs, not one each. Entries that
/// cannot reach Redis (it is down; the postback itself then answered 503) are counted and logged, never retried
/// into a failing store.
public sealed class PostbackLog : BackgroundService
{
    public static readonly HashSet<string> SecretParameters = new(StringComparer.OrdinalIgnoreCase) { "token", "security_token", "signature" };

    private const int MaxEntriesPerWrite = 256;
    // Bounded, so a long Redis outage under a flood of postbacks cannot grow memory without limit; what does
    // not fit is dropped and counted (the postbacks themselves answer 503 then, and the advertiser retries).
    private const int MaxQueued = 100_000;

    private readonly ConnectionMultiplexer redis;
    private readonly RedisKeys keys;
    private readonly FlushConsumer consumer;
    private readonly NpgsqlDataSource db;
    private readonly IOptions<ConversionOptions> options;
    private readonly TrackerMetrics metrics;
    private readonly ILogger<PostbackLog> log;
    private readonly Channel<PostbackLogEntry> _pending;
    private long _dropped;
    // Entries taken by Write, and entries the writer has finished with (sent, failed or dropped): FlushOnceAsync
    // first waits for everything logged before it was called.
    private long _queued, _handled;
    private Task? _writer;

    public PostbackLog(ConnectionMultiplexer redis, RedisKeys keys, FlushConsumer consumer, NpgsqlDataSource db,
        IOptions<ConversionOptions> options, TrackerMetrics metrics, ILogger<PostbackLog> log)
    {
        (this.redis, this.keys, this.consumer, this.db, this.options, this.metrics, this.log) = (redis, keys, consumer, db, options, metrics, log);
        _pending = Channel.CreateBounded<PostbackLogEntry>(
            new BoundedChannelOptions(MaxQueued) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite },
            _ =>
            {
                Interlocked.Increment(ref _dropped);
                Interlocked.Increment(ref _handled);
            });
    }

    public void Write(PostbackLogEntry entry)
    {
        if (_pending.Writer.TryWrite(entry)) Interlocked.Increment(ref _queued);
        else log.LogWarning("Postback log entry {EventId} not written: the server is stopping", entry.EventId);
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _writer = Task.Run(WriteLoopAsync, CancellationToken.None);
        return base.StartAsync(cancellationToken);
    }

    /// Stops taking entries and sends what has queued before the flusher stops.
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        if (_writer is not null) await _writer.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await base.StopAsync(cancellationToken);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PostbackLogEntry>(MaxEntriesPerWrite);
        while (await _pending.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxEntriesPerWrite && _pending.Reader.TryRead(out var entry)) batch.Add(entry);
            try
            {
                await redis.GetDatabase().AddAsync(keys.PostbackLogStream,
                    options.Value.BinaryStreams ? PostbackLogCodec.EncodeBatch(batch) : ConversionJson.Serialize(batch));
                var dropped = Interlocked.Exchange(ref _dropped, 0);
                if (dropped > 0) log.LogWarning("{Count} postback log entries dropped while Redis was unreachable", dropped);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                metrics.StoreError(e, "postback_log");
                log.LogWarning(e, "{Count} postback log entries not written, from {FirstEventId}", batch.Count, batch[0].EventId);
            }
            Interlocked.Add(ref _handled, batch.Count);
        }
    }

    /// The request's parameters for the log, with secrets removed.
    public static string Sanitize(IReadOnlyDictionary<string, string> parameters) =>
        string.Join('&', parameters.Where(p => !SecretParameters.Contains(p.Key))
            .Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value.Length > 300 ? p.Value[..300] : p.Value)}"));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.FlusherEnabled
        ? consumer.RunLoopAsync(() => FlushStreamAsync(options.Value.ReclaimAfter), options.Value.FlushIdleDelay, log, "Postback log flush", stoppingToken,
            options.Value.FlushBatch, options.Value.FlushInterval)
        : Task.CompletedTask;

    /// Moves the log's stream entries to PostgreSQL, after the entries logged before this call are in the stream
    /// (for callers that need a postback's row now; the background loop flushes the stream as it fills).
    public async Task<int> FlushOnceAsync(TimeSpan reclaimAfter)
    {
        var logged = Interlocked.Read(ref _queued);
        for (var waited = 0; Interlocked.Read(ref _handled) < logged && _writer is { IsCompleted: false } && waited < 5_000; waited += 2)
            await Task.Delay(2);
        return await FlushStreamAsync(reclaimAfter);
    }

    private Task<int> FlushStreamAsync(TimeSpan reclaimAfter) =>
        consumer.ConsumeOnceAsync(keys.PostbackLogStream, options.Value.FlushBatch, reclaimAfter, async entries =>
        {
            var rows = entries.SelectMany(e => ReadEntry(e.Payload)).ToList();
            await using var conn = await db.OpenConnectionAsync();
            await using var tx = await conn.BeginTransactionAsync();
            // Fast path: binary COPY. A re-delivered batch breaks the event_id key; then the batch goes in as
            // JSON with ON CONFLICT DO NOTHING, which keeps what is already there.
            await tx.SaveAsync("direct_copy");
            try
            {
                await CopyAsync(conn, rows);
                await tx.ReleaseAsync("direct_copy");
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                await tx.RollbackAsync("direct_copy");
                var json = System.Text.Encoding.UTF8.GetString(ConversionJson.Serialize(rows));
                await using var cmd = new NpgsqlCommand($"""
                    INSERT INTO postback_log ({Columns}) SELECT {Columns} FROM jsonb_populate_recordset(NULL::postback_log, @batch)
                    ON CONFLICT (event_id) DO NOTHING
                    """, conn, tx);
                cmd.Parameters.Add(new NpgsqlParameter("batch", NpgsqlDbType.Jsonb) { Value = json });
                await cmd.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
            return entries.Select(e => e.Id).ToList();
        });

    /// A stream entry holds the log entries written together.
    private static IEnumerable<PostbackLogEntry> ReadEntry(byte[] payload) => PostbackLogCodec.DecodeBatch(payload);

    internal const string Columns = "event_id, received_at, via, advertiser_id, offer_id, click_id, txid, goal, decision, http_status, message, conversion_id, remote_ip, query";

    private static async Task CopyAsync(NpgsqlConnection conn, List<PostbackLogEntry> rows)
    {
        await using var copy = await conn.BeginBinaryImportAsync($"COPY postback_log ({Columns}) FROM STDIN (FORMAT BINARY)");
        foreach (var r in rows)
        {
            copy.StartRow();
            copy.Write(r.EventId, NpgsqlDbType.Uuid);
            copy.Write(r.ReceivedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
            copy.Write(r.Via, NpgsqlDbType.Text);
            copy.WriteNumber(r.AdvertiserId);
            copy.WriteNumber(r.OfferId);
            copy.WriteText(r.ClickId); copy.WriteText(r.Txid); copy.WriteText(r.Goal);
            copy.Write(r.Decision, NpgsqlDbType.Text);
            copy.Write(r.HttpStatus, NpgsqlDbType.Integer);
            copy.WriteText(r.Message); copy.WriteText(r.ConversionId);
            copy.WriteInet(r.RemoteIp);
            copy.WriteText(r.Query);
        }
        await copy.CompleteAsync();
    }
}
