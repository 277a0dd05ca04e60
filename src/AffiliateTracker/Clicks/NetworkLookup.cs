using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace AffiliateTracker.Clicks;

/// The network (ASN and its registered name) an address belongs to, from ip-location-db's ASN ranges (CSV,
/// fetched by deploy/traffic-data.sh), held as sorted arrays and searched by halves; and whether that network
/// is a hosting or cloud provider (Clicks/HostingAsns.txt, kept by deploy/hosting-asns.py).
public sealed class NetworkLookup
{
    public readonly record struct Network(int Asn, string Name, bool IsHosting);

    private readonly uint[] _v4Start, _v4End;
    private readonly int[] _v4Asn;
    private readonly UInt128[] _v6Start, _v6End;
    private readonly int[] _v6Asn;
    private readonly Dictionary<int, string> _names;
    private readonly HashSet<int> _hosting;

    public static readonly NetworkLookup Empty = new([], [], [], [], [], [], [], HostingAsns());
    public int Ranges => _v4Start.Length + _v6Start.Length;

    private NetworkLookup(uint[] v4Start, uint[] v4End, int[] v4Asn, UInt128[] v6Start, UInt128[] v6End, int[] v6Asn,
        Dictionary<int, string> names, HashSet<int> hosting) =>
        (_v4Start, _v4End, _v4Asn, _v6Start, _v6End, _v6Asn, _names, _hosting) = (v4Start, v4End, v4Asn, v6Start, v6End, v6Asn, names, hosting);

    /// ipv4: "start,end,asn,name" with the addresses as numbers; ipv6: the same with the addresses written out.
    public static NetworkLookup Load(TextReader ipv4, TextReader? ipv6)
    {
        var names = new Dictionary<int, string>();
        List<uint> s4 = [], e4 = [];
        List<int> a4 = [];
        var fields = new List<string>();
        while (ipv4.ReadLine() is { } line)
        {
            if (!Http.CsvLine.TrySplit(line, fields, out _) || fields.Count < 4) continue;
            if (!uint.TryParse(fields[0], out var start) || !uint.TryParse(fields[1], out var end) || !int.TryParse(fields[2], out var asn)) continue;
            s4.Add(start); e4.Add(end); a4.Add(asn);
            names.TryAdd(asn, string.Intern(fields[3]));
        }
        List<UInt128> s6 = [], e6 = [];
        List<int> a6 = [];
        while (ipv6?.ReadLine() is { } line)
        {
            if (!Http.CsvLine.TrySplit(line, fields, out _) || fields.Count < 4) continue;
            if (!IPAddress.TryParse(fields[0], out var start) || !IPAddress.TryParse(fields[1], out var end) || !int.TryParse(fields[2], out var asn)) continue;
            s6.Add(V6(start)); e6.Add(V6(end)); a6.Add(asn);
            names.TryAdd(asn, string.Intern(fields[3]));
        }
        return new NetworkLookup([.. s4], [.. e4], [.. a4], [.. s6], [.. e6], [.. a6], names, HostingAsns());
    }

    public Network? Lookup(IPAddress? address)
    {
        if (address is null) return null;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        int i;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            var v = BinaryPrimitives.ReadUInt32BigEndian(b);
            i = Find(_v4Start, v);
            return i >= 0 && v <= _v4End[i] ? Of(_v4Asn[i]) : null;
        }
        var v6 = V6(address);
        i = Find(_v6Start, v6);
        return i >= 0 && v6 <= _v6End[i] ? Of(_v6Asn[i]) : null;
    }

    public bool IsHosting(int asn) => _hosting.Contains(asn);
    public string? NameOf(int asn) => _names.GetValueOrDefault(asn);

    private Network Of(int asn) => new(asn, _names.GetValueOrDefault(asn, ""), _hosting.Contains(asn));

    // The last range starting at or before the value.
    private static int Find<T>(T[] starts, T value) where T : IComparable<T>
    {
        var i = Array.BinarySearch(starts, value);
        return i >= 0 ? i : ~i - 1;
    }

    private static UInt128 V6(IPAddress a)
    {
        Span<byte> b = stackalloc byte[16];
        a.TryWriteBytes(b, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(b);
    }

    private static HashSet<int> HostingAsns()
    {
        using var stream = typeof(NetworkLookup).Assembly.GetManifestResourceStream("HostingAsns.txt")
            ?? throw new InvalidOperationException("HostingAsns.txt is not embedded");
        using var reader = new StreamReader(stream);
        var set = new HashSet<int>();
        while (reader.ReadLine() is { } line)
            if (line.Length > 0 && line[0] != '#' && int.TryParse(line.AsSpan(0, line.IndexOf(' ') is var sp and > 0 ? sp : line.Length), out var asn))
                set.Add(asn);
        return set;
    }
}
