using System.Net;
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

/// Every postback and pixel goes to a Redis stream without waiting, and a flusher moves the entries to
/// postback_log. Losing a log entry while Redis is down is logged; it never fails the postback.
public sealed class PostbackLog(
    ConnectionMultiplexer redis, RedisKeys keys, StreamConsumer consumer, NpgsqlDataSource db,
    IOptions<ConversionOptions> options, ILogger<PostbackLog> log) : BackgroundService
{
    public static readonly HashSet<string> SecretParameters = new(StringComparer.OrdinalIgnoreCase) { "token", "security_token", "signature" };

    public void Write(PostbackLogEntry entry)
    {
        try
        {
            // Fire and forget: the answer to the postback never waits for its log entry, and no completion is
            // scheduled per postback. (A Redis outage answers the postback 503 anyway; its entry is then lost.)
            redis.GetDatabase().ExecuteAsync("XADD", [(RedisKey)keys.PostbackLogStream, "*", "d", ConversionJson.Serialize(entry)], CommandFlags.FireAndForget);
        }
        catch (RedisException e)
        {
            log.LogWarning(e, "Postback log entry {EventId} not written", entry.EventId);
        }
    }

    /// The request's parameters for the log, with secrets removed.
    public static string Sanitize(IReadOnlyDictionary<string, string> parameters) =>
        string.Join('&', parameters.Where(p => !SecretParameters.Contains(p.Key))
            .Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value.Length > 300 ? p.Value[..300] : p.Value)}"));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.FlusherEnabled
        ? consumer.RunLoopAsync(() => FlushOnceAsync(options.Value.ReclaimAfter), options.Value.FlushIdleDelay, log, "Postback log flush", stoppingToken)
        : Task.CompletedTask;

    public Task<int> FlushOnceAsync(TimeSpan reclaimAfter) =>
        consumer.ConsumeOnceAsync(keys.PostbackLogStream, options.Value.FlushBatch, reclaimAfter, async entries =>
        {
            var rows = entries.Select(e => ConversionJson.Deserialize<PostbackLogEntry>(e.Payload)).ToList();
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
                var json = "[" + string.Join(",", entries.Select(e => System.Text.Encoding.UTF8.GetString(e.Payload))) + "]";
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

    private const string Columns = "event_id, received_at, via, advertiser_id, offer_id, click_id, txid, goal, decision, http_status, message, conversion_id, remote_ip, query";

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
