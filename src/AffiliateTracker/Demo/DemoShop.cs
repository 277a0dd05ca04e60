using System.Globalization;
using System.Net;

namespace AffiliateTracker.Demo;

/// The demo advertiser's shop: where demo offers land. It shows the click id the visitor carries, and
/// its order button leads to a thank-you page that fires the conversion pixel, as a real shop would.
public static class DemoShop
{
    private const string Style = "font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222";

    public static void MapDemoShop(this IEndpointRouteBuilder app)
    {
        app.MapGet("/demo/shop", (HttpRequest request) =>
        {
            var q = request.Query;
            string Enc(string name) => WebUtility.HtmlEncode(q[name].ToString());
            var (product, price) = Product(q["product"].ToString());
            return Page("Demo Shop", $"""
                <h1>Demo Shop</h1>
                <p>You arrived through an AffiliateTracker link. This page is the advertiser's landing page.</p>
                <h2 style="font-size:1.2rem">{WebUtility.HtmlEncode(product)}</h2>
                <table style="border-collapse:collapse">
                <tr><td style="padding:.2rem 1rem .2rem 0">click id</td><td><code id="click-id">{Enc("click_id")}</code></td></tr>
                <tr><td style="padding:.2rem 1rem .2rem 0">offer</td><td><code>{Enc("offer_id")}</code></td></tr>
                <tr><td style="padding:.2rem 1rem .2rem 0">publisher (aff_id)</td><td><code>{Enc("aff_id")}</code></td></tr>
                <tr><td style="padding:.2rem 1rem .2rem 0">sub1</td><td><code>{Enc("sub1")}</code></td></tr>
                </table>
                <form action="/demo/shop/thanks" method="get" style="margin-top:1.5rem">
                  <input type="hidden" name="offer_id" value="{Enc("offer_id")}">
                  <input type="hidden" name="product" value="{Enc("product")}">
                  <button id="order" type="submit" style="font-size:1rem;padding:.5rem 1.2rem">{(price > 0 ? $"Buy for ${price:0.00}" : "Sign up")}</button>
                </form>
                """);
        }).ExcludeFromDescription();

        // The thank-you page: the pixel reads the click cookie the tracking link set, so no id is passed here.
        app.MapGet("/demo/shop/thanks", (HttpRequest request) =>
        {
            var q = request.Query;
            var offerId = long.TryParse(q["offer_id"], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : 0;
            var (product, price) = Product(q["product"].ToString());
            var order = $"demo-{Guid.NewGuid():N}"[..17];
            var pixel = $"/pixel?offer_id={offerId}&txid={order}" + (price > 0 ? $"&amount={price.ToString("0.00", CultureInfo.InvariantCulture)}" : "");
            return Page("Thank you", $"""
                <h1>Thank you for your order</h1>
                <p>Order <code id="order-id">{order}</code>: {WebUtility.HtmlEncode(product)}.</p>
                <p>This page fired the conversion pixel: <code>{WebUtility.HtmlEncode(pixel)}</code></p>
                <img src="{WebUtility.HtmlEncode(pixel)}" width="1" height="1" alt="">
                <p>See the conversion (pending, with its hold end time):<br>
                <code>curl -H 'Authorization: Bearer {DemoOptions.AdvertiserKey}' '{request.Scheme}://{request.Host}/api/v1/conversions?txid={order}'</code></p>
                """);
        }).ExcludeFromDescription();
    }

    private static (string Product, decimal Price) Product(string code) =>
        code == "newsletter" ? ("Newsletter signup", 0m) : ("Running sneakers", 120.00m);

    private static IResult Page(string title, string body) => Results.Content($"""
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
        <meta name="viewport" content="width=device-width,initial-scale=1"></head>
        <body style="{Style}">{body}</body></html>
        """, "text/html; charset=utf-8");
}
