using AffiliateTracker.Http;
using AffiliateTracker.Network;

namespace AffiliateTracker.Clicks;

/// Expands the macros of an offer's landing (or fallback) URL. Every value is URL-encoded, and offers
/// may use macros only after the host (Network/LandingUrlRules.cs, checked when the offer is saved), so no
/// value a visitor or publisher sends can change where the redirect goes.
public static class LandingUrl
{
    public static string Expand(string template, ClickRecord click) => UrlMacros.Expand(template, click, Resolve);

    /// Where a deep link goes: the page itself (checked against the offer's domains by DeepLinkRules, so it is
    /// printable ASCII), with the offer's query parameters added before any fragment, or the offer's
    /// redirector URL with the page in {url}.
    public static string DeepLink(OfferConfig offer, ClickRecord click)
    {
        var page = click.DeepLink!;
        var template = offer.DeepLinkTemplate;
        if (template is null) return page;
        if (template.StartsWith("http", StringComparison.OrdinalIgnoreCase)) return Expand(template, click);
        var query = Expand(template, click);
        var hash = page.IndexOf('#');
        var head = hash < 0 ? page : page[..hash];
        var joiner = head.Contains('?') ? (head.EndsWith('?') || head.EndsWith('&') ? "" : "&") : "?";
        return string.Concat(head, joiner, query, hash < 0 ? "" : page[hash..]);
    }

    private static bool Resolve(ReadOnlySpan<char> name, ClickRecord c, out string? value)
    {
        switch (name)
        {
            case "click_id": value = c.ClickId; return true;
            case "offer_id": value = c.OfferId.ToString(); return true;
            case "aff_id": value = c.PublisherId.ToString(); return true;
            case "sub1": value = c.Sub1; return true;
            case "sub2": value = c.Sub2; return true;
            case "sub3": value = c.Sub3; return true;
            case "sub4": value = c.Sub4; return true;
            case "sub5": value = c.Sub5; return true;
            case "source": value = c.Source; return true;
            // Only in an offer's deep-link redirector template (Network/DeepLinkRules.cs); empty on a plain click.
            case "url": value = c.DeepLink; return true;
            default: value = null; return false;
        }
    }
}
