using System.Net;
using Npgsql;
using NpgsqlTypes;

namespace AffiliateTracker.Storage;

/// Nullable fields for the flushers' binary COPY (clicks, conversions, postback log), written synchronously
/// into Npgsql's buffer: the flushers run in the background, never on a request.
public static class BinaryCopy
{
    public static void WriteText(this NpgsqlBinaryImporter copy, string? value, NpgsqlDbType type = NpgsqlDbType.Text)
    {
        if (value is null) copy.WriteNull(); else copy.Write(value, type);
    }

    public static void WriteNumber(this NpgsqlBinaryImporter copy, long? value)
    {
        if (value is { } v) copy.Write(v, NpgsqlDbType.Bigint); else copy.WriteNull();
    }

    public static void WriteMoney(this NpgsqlBinaryImporter copy, decimal? value)
    {
        if (value is { } v) copy.Write(v, NpgsqlDbType.Numeric); else copy.WriteNull();
    }

    /// An address as inet; anything that does not parse is stored as unknown.
    public static void WriteInet(this NpgsqlBinaryImporter copy, string? address)
    {
        if (address is not null && IPAddress.TryParse(address, out var ip)) copy.Write(ip, NpgsqlDbType.Inet); else copy.WriteNull();
    }
}
