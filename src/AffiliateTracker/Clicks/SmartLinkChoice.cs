using AffiliateTracker.Network;

namespace AffiliateTracker.Clicks;

/// Picks a smart link's offer for one click, from the in-memory snapshot only (no I/O before the 302): the first
/// rule that matches the visitor and has an offer able to take the click wins; among its offers, one is drawn by
/// weight from those that can. An offer cannot take the click when it is paused, closed to this publisher, not
/// sold in the visitor's country, or at a cap.
public static class SmartLinkChoice
{
    public readonly record struct Choice(OfferConfig Offer, int Rule);

    public static Choice? Choose(NetworkSnapshot snapshot, SmartLinkConfig link, string? country, string? userAgent,
        CapCounters caps, DateTimeOffset now)
    {
        var device = link.ReadsDevice ? DeviceGuess.Of(userAgent) : default;
        Span<int> weights = stackalloc int[SmartLinkRules.MaxOffersPerRule];
        foreach (var rule in link.Rules)
        {
            if (rule.Countries.Count > 0 && (country is null || !rule.Countries.Contains(country))) continue;
            if (rule.DeviceTypes.Count > 0 && !rule.DeviceTypes.Contains(device.DeviceType)) continue;
            if (rule.Os.Count > 0 && (device.Os is null || !rule.Os.Contains(device.Os))) continue;

            var total = 0;
            for (var i = 0; i < rule.Offers.Length; i++)
            {
                var offer = snapshot.Offer(rule.Offers[i].OfferId);
                var takes = offer is not null && CanTake(snapshot, offer, link.PublisherId, country, caps, now);
                weights[i] = takes ? rule.Offers[i].Weight : 0;
                total += weights[i];
            }
            if (total == 0) continue;
            var draw = Random.Shared.Next(total);
            for (var i = 0; i < rule.Offers.Length; i++)
            {
                if (draw < weights[i]) return new Choice(snapshot.Offer(rule.Offers[i].OfferId)!, rule.Position);
                draw -= weights[i];
            }
        }
        return null;
    }

    // The same conditions the redirect refuses a plain link's click on (ClickEndpoints.Redirect).
    private static bool CanTake(NetworkSnapshot snapshot, OfferConfig offer, long publisherId, string? country, CapCounters caps, DateTimeOffset now) =>
        offer.IsActive
        && snapshot.HasAccess(offer.Id, publisherId)
        && (offer.AllowedCountries.Count == 0 || (country is not null && offer.AllowedCountries.Contains(country)))
        && caps.Reached(offer, snapshot.PublisherCaps(offer.Id, publisherId), publisherId, now) is null;
}
