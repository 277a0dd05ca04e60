using System.Net;

namespace AffiliateTracker.Demo;

/// The demo advertiser's shop: where demo offers land. Shows the click id the visitor carries, so a
/// newcomer sees the whole path from tracking link to landing page.
public static class DemoShop
{
    public static void MapDemoShop(this IEndpointRouteBuilder app)
    {
        app.MapGet("/demo/shop", (HttpRequest request) =>
        {
            var q = request.Query;
            string Enc(string name) => WebUtility.HtmlEncode(q[name].ToString());
            var product = q["product"].ToString() == "newsletter" ? "Newsletter signup" : "Running sneakers — $120.00";
            var html = $"""
                <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo Shop</title>
                <meta name="viewport" content="width=device-width,initial-scale=1"></head>
                <body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222">
                <h1>Demo Shop</h1>
                <p>You arrived through an AffiliateTracker link. This page is the advertiser's landing page.</p>
                <h2 style="font-size:1.2rem">{WebUtility.HtmlEncode(product)}</h2>
                <table style="border-collapse:collapse">
                <tr><td style="padding:.2rem 1rem .2rem 0">click id</td><td><code id="click-id">{Enc("click_id")}</code></td></tr>
                <tr><td style="padding:.2rem 1rem .2rem 0">publisher (aff_id)</td><td><code>{Enc("aff_id")}</code></td></tr>
                <tr><td style="padding:.2rem 1rem .2rem 0">sub1</td><td><code>{Enc("sub1")}</code></td></tr>
                </table>
                <p style="color:#666">The advertiser reports a sale for this click id with a postback or the pixel.</p>
                </body></html>
                """;
            return Results.Content(html, "text/html; charset=utf-8");
        }).ExcludeFromDescription();
    }
}
