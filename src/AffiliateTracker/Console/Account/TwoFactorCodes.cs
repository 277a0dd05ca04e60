using Dapper;
using Npgsql;
using OtpNet;
using QRCoder;

namespace AffiliateTracker.Console.Account;

/// TOTP (RFC 6238) second factor with an authenticator app: 6 digits, 30-second steps, one step of clock
/// drift either way, and each step usable once (a code seen over someone's shoulder cannot be replayed).
public sealed class TwoFactorCodes(NpgsqlDataSource db)
{
    public static string NewSecret() => Base32Encoding.ToString(KeyGeneration.GenerateRandomKey(20));

    public static string AppUri(string secret, string email) =>
        $"otpauth://totp/{Uri.EscapeDataString("AffiliateTracker:" + email)}?secret={secret}&issuer=AffiliateTracker&digits=6&period=30";

    /// The QR code an authenticator app scans, as an image the page embeds.
    public static string QrDataUri(string appUri) =>
        "data:image/png;base64," + Convert.ToBase64String(PngByteQRCodeHelper.GetQRCode(appUri, QRCodeGenerator.ECCLevel.M, 6));

    public static bool Matches(string? secret, string? code, out long step)
    {
        step = 0;
        code = code?.Replace(" ", "");
        if (secret is null || code is not { Length: 6 } || !code.All(char.IsAsciiDigit)) return false;
        return new Totp(Base32Encoding.ToBytes(secret)).VerifyTotp(code, out step, new VerificationWindow(previous: 1, future: 1));
    }

    /// Checks a sign-in code and uses up its time step.
    public async Task<bool> VerifyAsync(ConsoleUser user, string? code)
    {
        if (!user.TotpEnabled || !Matches(user.TotpSecret, code, out var step)) return false;
        await using var conn = await db.OpenConnectionAsync();
        return await conn.ExecuteAsync(
            "UPDATE users SET totp_last_step = @step WHERE id = @id AND (totp_last_step IS NULL OR totp_last_step < @step)",
            new { id = user.Id, step }) == 1;
    }

    /// Starts set-up: a new secret the user's app must confirm with a code before sign-in asks for it.
    public async Task<string> BeginAsync(long userId)
    {
        var secret = NewSecret();
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("UPDATE users SET totp_secret = @secret, totp_enabled = false WHERE id = @userId AND NOT totp_enabled",
            new { userId, secret });
        return secret;
    }

    /// Turns the second factor on once the app shows a matching code; every other session ends.
    public async Task<bool> ConfirmAsync(ConsoleUser user, string? code)
    {
        if (user.TotpEnabled || !Matches(user.TotpSecret, code, out var step)) return false;
        await using var conn = await db.OpenConnectionAsync();
        return await conn.ExecuteAsync("""
            UPDATE users SET totp_enabled = true, totp_last_step = @step, security_stamp = gen_random_uuid()
            WHERE id = @id AND NOT totp_enabled AND totp_secret = @secret
            """, new { id = user.Id, step, secret = user.TotpSecret }) == 1;
    }

    public async Task DisableAsync(long userId)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("UPDATE users SET totp_enabled = false, totp_secret = NULL, totp_last_step = NULL, security_stamp = gen_random_uuid() WHERE id = @userId",
            new { userId });
    }
}
