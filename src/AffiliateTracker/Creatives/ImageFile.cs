using System.Buffers.Binary;

namespace AffiliateTracker.Creatives;

/// What an uploaded image really is, read from its bytes (never from the file name or the type the uploader
/// claims), and its size in pixels. Only PNG, JPEG, GIF and WebP: SVG is refused, because it is a document
/// that can carry script, and so is anything this cannot read the dimensions of.
public sealed record ImageFile(string ContentType, string Extension, int Width, int Height)
{
    public const int MaxBytes = 2 * 1024 * 1024, MaxSide = 4096;

    public static readonly string[] ContentTypes = ["image/png", "image/jpeg", "image/gif", "image/webp"];

    public static ImageFile? Read(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 24 && b[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && b[12..16].SequenceEqual("IHDR"u8))
            return Sized("image/png", "png", BinaryPrimitives.ReadInt32BigEndian(b[16..]), BinaryPrimitives.ReadInt32BigEndian(b[20..]));
        if (b.Length >= 10 && (b[..6].SequenceEqual("GIF87a"u8) || b[..6].SequenceEqual("GIF89a"u8)))
            return Sized("image/gif", "gif", BinaryPrimitives.ReadUInt16LittleEndian(b[6..]), BinaryPrimitives.ReadUInt16LittleEndian(b[8..]));
        if (b.Length >= 4 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Jpeg(b);
        if (b.Length >= 30 && b[..4].SequenceEqual("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8)) return WebP(b);
        return null;
    }

    // Segments up to the first start-of-frame marker, which holds the height and width.
    private static ImageFile? Jpeg(ReadOnlySpan<byte> b)
    {
        var i = 2;
        while (i + 9 < b.Length)
        {
            if (b[i] != 0xFF) return null;
            var marker = b[i + 1];
            if (marker == 0xFF) { i++; continue; }
            var length = BinaryPrimitives.ReadUInt16BigEndian(b[(i + 2)..]);
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
                return Sized("image/jpeg", "jpg", BinaryPrimitives.ReadUInt16BigEndian(b[(i + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(b[(i + 5)..]));
            if (length < 2) return null;
            i += 2 + length;
        }
        return null;
    }

    // The first chunk says which of the three WebP encodings it is; each stores the size its own way.
    private static ImageFile? WebP(ReadOnlySpan<byte> b)
    {
        var chunk = b[12..16];
        if (chunk.SequenceEqual("VP8 "u8) && b[23] == 0x9D && b[24] == 0x01 && b[25] == 0x2A)
            return Sized("image/webp", "webp", BinaryPrimitives.ReadUInt16LittleEndian(b[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(b[28..]) & 0x3FFF);
        if (chunk.SequenceEqual("VP8L"u8) && b[20] == 0x2F)
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(b[21..]);
            return Sized("image/webp", "webp", (int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
        }
        if (chunk.SequenceEqual("VP8X"u8))
            return Sized("image/webp", "webp", (b[24] | b[25] << 8 | b[26] << 16) + 1, (b[27] | b[28] << 8 | b[29] << 16) + 1);
        return null;
    }

    private static ImageFile? Sized(string type, string extension, int width, int height) =>
        width > 0 && height > 0 ? new ImageFile(type, extension, width, height) : null;
}
