using System.Security.Cryptography;
using System.Text;

namespace AffiliateTracker.Conversions;

/// HMAC-SHA256 signatures as an alternative to the postback token. An advertiser's signing key is
/// HMAC(master key, "postback-signing:{advertiser}:{version}"): derived on demand, never stored, shown
/// to the advertiser once, and revoked by issuing the next version. The advertiser sends
/// `X-Signature: sha256=HEX` where HEX = HMAC-SHA256(signing key, the raw query string without its
/// leading '?', or for POST the raw body). The master key comes from `Secrets:MasterKey` (base64, at least
/// 32 bytes); without it, signing is unavailable and tokens still work.
public sealed class PostbackSigning(IConfiguration config)
{
    public const string Header = "X-Signature";
    private readonly byte[]? _master = Parse(config["Secrets:MasterKey"]);

    public bool Available => _master is not null;

    public byte[] KeyFor(long advertiserId, int version)
    {
        if (_master is null) throw new InvalidOperationException("Secrets:MasterKey is not configured");
        return HMACSHA256.HashData(_master, Encoding.UTF8.GetBytes($"postback-signing:{advertiserId}:{version}"));
    }

    public static string Show(byte[] key) => Convert.ToBase64String(key).Replace('+', '-').Replace('/', '_').TrimEnd('=');

    /// Constant-time check of a "sha256=HEX" header against the signed bytes.
    public bool Verify(long advertiserId, int version, ReadOnlySpan<byte> signed, string header)
    {
        if (_master is null || version <= 0 || !header.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase)) return false;
        byte[] presented;
        try { presented = Convert.FromHexString(header.AsSpan(7)); }
        catch (FormatException) { return false; }
        // The signing key is base64url text on the advertiser's side; that text, as bytes, is the HMAC key.
        var expected = HMACSHA256.HashData(Encoding.ASCII.GetBytes(Show(KeyFor(advertiserId, version))), signed);
        return CryptographicOperations.FixedTimeEquals(expected, presented);
    }

    /// What a signed pixel's `sig` covers: the offer, the goal and amount as sent ("" when left out), the txid
    /// and the expiry, so that a signature cannot be moved to another offer, goal, order, amount or time.
    public static string PixelMessage(long offerId, string? goal, string txid, string? amount, long expires) =>
        $"pixel\n{offerId}\n{goal}\n{txid}\n{amount}\n{expires}";

    /// Constant-time check of a signed pixel's hex `sig`; the key is the same signing key postbacks use.
    public bool VerifyPixel(long advertiserId, int version, string message, string sig)
    {
        if (_master is null || version <= 0 || sig.Length != 64) return false;
        byte[] presented;
        try { presented = Convert.FromHexString(sig); }
        catch (FormatException) { return false; }
        var expected = HMACSHA256.HashData(Encoding.ASCII.GetBytes(Show(KeyFor(advertiserId, version))), Encoding.UTF8.GetBytes(message));
        return CryptographicOperations.FixedTimeEquals(expected, presented);
    }

    /// Secrets:MasterKey's bytes (null when unset); refuses a key that is not base64 of at least 32 bytes.
    internal static byte[]? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var bytes = Convert.FromBase64String(value.Trim());
        return bytes.Length >= 32 ? bytes : throw new InvalidOperationException("Secrets:MasterKey must be at least 32 bytes (base64)");
    }
}
