using System.Net;

namespace AffiliateTracker.Http;

/// Visitor-facing refusals on the redirect path: a short HTML page for browsers, the JSON error for
/// everything else (scripts, monitors, tests).
public static class ErrorPage
{
    public static IResult Result(HttpContext http, int status, string error, string message)
    {
        http.Response.Headers.CacheControl = "no-store";
        var accept = http.Request.Headers.Accept.ToString();
        if (accept.Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            var html = $"""
                <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link unavailable</title>
                <meta name="viewport" content="width=device-width,initial-scale=1"></head>
                <body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222">
                <h1 style="font-size:1.4rem">Link unavailable</h1><p>{WebUtility.HtmlEncode(message)}</p>
                <p style="color:#777;font-size:.85rem">Code: {WebUtility.HtmlEncode(error)}</p></body></html>
                """;
            return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
        }
        return Results.Json(new ErrorBody(error, message), statusCode: status);
    }
}
