namespace AffiliateTracker.Clicks;

/// The device type (desktop, mobile, tablet) and OS family (android, ios, windows, macos, linux, or null) a
/// smart link's rules choose by, read from the user agent before the redirect: a few ordinal substring
/// checks, no regular expressions, because it runs on the click path. The order matters: iPadOS and Android
/// tablets are told apart from phones, and Android from the Linux it runs on.
public readonly record struct DeviceGuess(string DeviceType, string? Os)
{
    public static DeviceGuess Of(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent)) return new("desktop", null);
        var ua = userAgent.AsSpan();
        if (Has(ua, "iPad")) return new("tablet", "ios");
        if (Has(ua, "iPhone") || Has(ua, "iPod")) return new("mobile", "ios");
        if (Has(ua, "Android"))
            // Android phones say "Mobile"; tablets do not (Google's guidance for browser makers).
            return new(Has(ua, "Mobile") ? "mobile" : "tablet", "android");
        if (Has(ua, "Windows Phone")) return new("mobile", "windows");
        if (Has(ua, "Windows")) return new(Has(ua, "Touch") && Has(ua, "Tablet PC") ? "tablet" : "desktop", "windows");
        if (Has(ua, "Macintosh") || Has(ua, "Mac OS X")) return new("desktop", "macos");
        if (Has(ua, "CrOS")) return new("desktop", "linux");
        if (Has(ua, "Linux") || Has(ua, "X11")) return new(Has(ua, "Mobile") ? "mobile" : "desktop", "linux");
        return new(Has(ua, "Mobile") ? "mobile" : "desktop", null);
    }

    private static bool Has(ReadOnlySpan<char> ua, string token) => ua.Contains(token, StringComparison.Ordinal);
}
