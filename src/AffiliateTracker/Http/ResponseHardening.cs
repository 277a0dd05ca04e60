using Microsoft.Extensions.Primitives;

namespace AffiliateTracker.Http;

/// Headers every answer carries, set once before anything else runs (the redirect's fast path included):
/// no content-type sniffing, no framing by other sites, and a content security policy that lets a page use
/// only this server's own scripts, styles and images. API answers, which carry callers' data and newly
/// issued keys and tokens, are never stored by a cache.
public static class ResponseHardening
{
    private static readonly StringValues NoSniff = "nosniff";
    private static readonly StringValues Deny = "DENY";
    // Scripts only from this server, never inline; inline style attributes are allowed (the demo and error pages use them).
    private static readonly StringValues Policy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
    // The API reference at /docs (Scalar) starts itself with an inline module script; it shows no caller's data.
    private static readonly StringValues DocsPolicy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";
    private static readonly StringValues NoStore = "no-store";

    public static void UseResponseHardening(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        Apply(http);
        return next(http);
    });

    /// Also called by the error handler, which clears the headers of a failed response before writing its error.
    public static void Apply(HttpContext http)
    {
        var headers = http.Response.Headers;
        headers.XContentTypeOptions = NoSniff;
        headers.XFrameOptions = Deny;
        var path = http.Request.Path;
        headers.ContentSecurityPolicy = path.StartsWithSegments("/docs") ? DocsPolicy : Policy;
        if (path.StartsWithSegments("/api")) headers.CacheControl = NoStore;
    }
}
