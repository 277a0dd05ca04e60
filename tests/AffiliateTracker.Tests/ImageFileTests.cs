using System.Text;
using AffiliateTracker.Creatives;

namespace AffiliateTracker.Tests;

/// An image's type and size come from its bytes, whatever its name or claimed type.
public sealed class ImageFileTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    public static readonly byte[] Gif1x1 = Hex("474946383961 0100 0100 800000 ffffff 000000 21f90401000000002c000000000100010000020244010038");
    // JFIF header and a baseline start-of-frame: 50 high, 100 wide.
    public static readonly byte[] Jpeg100x50 = Hex("ffd8 ffe0 0010 4a46494600 0101 00 0001 0001 0000 ffc0 0011 08 0032 0064 03 012200 021101 031101 ffd9");
    public static readonly byte[] WebPLossless1x1 = Convert.FromBase64String("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==");

    [Fact]
    public void Png_gif_jpeg_and_webp_are_told_from_their_bytes_with_their_size()
    {
        Assert.Equal(new ImageFile("image/png", "png", 300, 250), ImageFile.Read(TestPng.Of(300, 250)));
        Assert.Equal(new ImageFile("image/gif", "gif", 1, 1), ImageFile.Read(Gif1x1));
        Assert.Equal(new ImageFile("image/jpeg", "jpg", 100, 50), ImageFile.Read(Jpeg100x50));
        Assert.Equal(new ImageFile("image/webp", "webp", 1, 1), ImageFile.Read(WebPLossless1x1));
    }

    [Theory]
    [InlineData("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>")]
    [InlineData("<html><script>alert(1)</script></html>")]
    [InlineData("GIF89")]
    [InlineData("")]
    public void Svg_html_and_truncated_files_are_not_images(string text) => Assert.Null(ImageFile.Read(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void A_png_header_with_a_zero_size_is_not_an_image() => Assert.Null(ImageFile.Read(TestPng.Of(300, 250).AsSpan(0, 24).ToArray() is var b
        ? b.Select((x, i) => i is >= 16 and < 20 ? (byte)0 : x).ToArray() : []));
}
