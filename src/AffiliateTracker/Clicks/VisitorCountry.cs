using System.Net;
using MaxMind.Db;

namespace AffiliateTracker.Clicks;

/// The visitor's country: CF-IPCountry when a trusted proxy passed it on (TrustedProxies strips it from
/// everyone else), otherwise the visitor's address looked up in a MaxMind DB file (`Geo:CountryDatabase`).
/// That file is the free ip-location-db country database that deploy/geo.sh fetches, or a commercial GeoIP2
/// Country file: both shapes are read. Without a file the country is unknown, and an offer sold only in some
/// countries sends the visitor to its fallback.
public sealed class VisitorCountry : IDisposable
{
    public const string CloudflareHeader = "CF-IPCountry";

    private readonly Reader? _reader;

    public VisitorCountry(IConfiguration config, ILogger<VisitorCountry> log)
    {
        var path = config["Geo:CountryDatabase"];
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            log.LogWarning("No IP-to-country database at {Path} (Geo:CountryDatabase; deploy/geo.sh fetches one): countries are unknown "
                + "unless a trusted proxy sends CF-IPCountry, and offers limited to some countries send every visitor to their fallback", path);
            return;
        }
        _reader = new Reader(path, FileAccessMode.MemoryMapped);
        log.LogInformation("IP-to-country database {Type} of {Built:yyyy-MM-dd} loaded from {Path}",
            _reader.Metadata.DatabaseType, _reader.Metadata.BuildDate, path);
    }

    public bool HasDatabase => _reader is not null;

    /// Two letters, upper case; XX (unknown) and T1 (Tor) are no country.
    public static string? FromHeader(Microsoft.Extensions.Primitives.StringValues value)
    {
        var s = value.ToString();
        if (s.Length != 2 || !char.IsAsciiLetter(s[0]) || !char.IsAsciiLetter(s[1])) return null;
        s = s.ToUpperInvariant();
        return s is "XX" or "T1" ? null : s;
    }

    public string? Lookup(IPAddress? address)
    {
        if (_reader is null || address is null) return null;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var record = _reader.Find<CountryRecord>(address);
        var code = record?.CountryCode ?? record?.Country?.IsoCode;
        return code is { Length: 2 } ? code.ToUpperInvariant() : null;
    }

    public void Dispose() => _reader?.Dispose();

    // ip-location-db files hold { country_code }; MaxMind's GeoIP2 Country files { country: { iso_code } }.
    [method: Constructor]
    public sealed record CountryRecord([MapKey("country_code")] string? CountryCode, [MapKey("country")] CountryNode? Country);

    [method: Constructor]
    public sealed record CountryNode([MapKey("iso_code")] string? IsoCode);
}
