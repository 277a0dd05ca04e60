using AffiliateTracker.Clicks;
using AffiliateTracker.Storage;
using System.Net;
using Npgsql;
using NpgsqlTypes;

namespace AffiliateTracker.Conversions;

/// Binary COPY of new conversions, each the first entry of its own status history (created_status, created_reason;
/// the view conversion_status_history_entries): the flusher's bulk write, and the raw reference the benchmarks measure
/// it against. Fields are written synchronously into Npgsql's buffer (it flushes as it fills): this runs in a
/// background worker, never on a request.
public static class ConversionCopy
{
    public const string Columns = """
        id, click_id, click_created_at, offer_id, advertiser_id, publisher_id, goal, txid, dedupe_key, status,
        amount, currency, original_amount, original_currency, payout, revenue, sub1, sub2, sub3, sub4, sub5,
        source, click_ip, country, flags, via, created_at, hold_until, status_changed_at, awaiting_confirmation,
        device_type, os, os_version, browser, asn, is_datacenter, postback_ip, postback_query, created_status, created_reason
        """;

    /// COPY into `table` (conversions, or a staging table like it), with each conversion's click's traffic details
    /// where `traffic` has them (read from `clicks` by ConversionStore).
    public static async Task WriteAsync(NpgsqlConnection conn, string table, IReadOnlyList<ConversionCreated> rows,
        IReadOnlyDictionary<string, TrafficDetails>? traffic = null, CancellationToken ct = default)
    {
        await using var copy = await conn.BeginBinaryImportAsync($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var c in rows)
        {
            copy.StartRow();
            copy.Write(c.Id, NpgsqlDbType.Text);
            copy.Write(c.ClickId, NpgsqlDbType.Text);
            copy.Write(c.ClickCreatedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
            copy.Write(c.OfferId, NpgsqlDbType.Bigint);
            copy.Write(c.AdvertiserId, NpgsqlDbType.Bigint);
            copy.Write(c.PublisherId, NpgsqlDbType.Bigint);
            copy.Write(c.Goal, NpgsqlDbType.Text);
            copy.WriteText(c.Txid);
            copy.Write(c.DedupeKey, NpgsqlDbType.Text);
            copy.Write(c.Status, NpgsqlDbType.Text);
            copy.WriteMoney(c.Amount);
            copy.Write(c.Currency, NpgsqlDbType.Char);
            copy.WriteMoney(c.OriginalAmount);
            copy.WriteText(c.OriginalCurrency, NpgsqlDbType.Char);
            copy.Write(c.Payout, NpgsqlDbType.Numeric);
            copy.Write(c.Revenue, NpgsqlDbType.Numeric);
            copy.WriteText(c.Sub1); copy.WriteText(c.Sub2); copy.WriteText(c.Sub3); copy.WriteText(c.Sub4); copy.WriteText(c.Sub5);
            copy.WriteText(c.Source);
            copy.WriteInet(c.ClickIp);
            copy.WriteText(c.Country, NpgsqlDbType.Char);
            copy.Write(c.Flags, NpgsqlDbType.Array | NpgsqlDbType.Text);
            copy.Write(c.Via, NpgsqlDbType.Text);
            copy.Write(c.CreatedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
            copy.Write(c.HoldUntil.UtcDateTime, NpgsqlDbType.TimestampTz);
            copy.Write(c.StatusChangedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
            copy.Write(c.AwaitingConfirmation, NpgsqlDbType.Boolean);
            var t = traffic?.GetValueOrDefault(c.ClickId);
            copy.WriteText(t?.DeviceType); copy.WriteText(t?.Os); copy.WriteText(t?.OsVersion); copy.WriteText(t?.Browser);
            if (t?.Asn is { } asn) copy.Write(asn, NpgsqlDbType.Integer); else copy.WriteNull();
            if (t?.IsDatacenter is { } dc) copy.Write(dc, NpgsqlDbType.Boolean); else copy.WriteNull();
            copy.WriteInet(c.PostbackIp);
            copy.WriteText(c.PostbackQuery);
            copy.Write(c.Status, NpgsqlDbType.Text);
            copy.WriteText(c.Reason);
        }
        await copy.CompleteAsync(ct);
    }
}
