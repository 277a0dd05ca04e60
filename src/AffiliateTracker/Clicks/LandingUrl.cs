using System.Text;
using AffiliateTracker.Http;

namespace AffiliateTracker.Clicks;

/// Expands the macros of an offer's landing (or fallback) URL. Every value is URL-encoded, and offers
/// may use macros only after the host (Network/LandingUrlRules.cs, checked when the offer is saved), so no
/// value a visitor or publisher sends can change where the redirect goes.
public static class LandingUrl
{
    public static string Expand(string template, ClickRecord click) => UrlMacros.Expand(template, click, Resolve);

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
            default: value = null; return false;
        }
    }
}
