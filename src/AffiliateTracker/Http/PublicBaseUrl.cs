namespace AffiliateTracker.Http;

/// Where this tracker is reached from outside (`PublicBaseUrl`, e.g. https://track.example): the tracking URLs
/// the API hands out are built on it, never on the request's Host header, which any caller can set.
public sealed record PublicBaseUrl(string Value)
{
    public static PublicBaseUrl From(IConfiguration config)
    {
        var value = (config["PublicBaseUrl"] ?? "http://127.0.0.1:5080").TrimEnd('/');
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.PathAndQuery == "/"
            ? new PublicBaseUrl(value)
            : throw new InvalidOperationException($"PublicBaseUrl must be an http(s) address without a path, such as https://track.example; got '{value}'.");
    }

    public string Link(string code) => $"{Value}/c/{code}";
    public string SmartLink(string code) => $"{Value}/s/{code}";
}
