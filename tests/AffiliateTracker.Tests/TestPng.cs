using System.Text;

namespace AffiliateTracker.Tests;

/// A real PNG (valid chunks and checksums) of one colour: what an advertiser's banner tool would write.
public static class TestPng
{
    public static byte[] Of(int width, int height)
    {
        var raw = new MemoryStream();
        for (var y = 0; y < height; y++) { raw.WriteByte(0); for (var x = 0; x < width; x++) raw.Write([0xE0, 0x40, 0x20]); }
        var compressed = new MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(z);
        var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; header[9] = 2;
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var body = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        var n = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(n, data.Length);
        s.Write(n);
        s.Write(body);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(n, Crc32(body));
        s.Write(n);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
