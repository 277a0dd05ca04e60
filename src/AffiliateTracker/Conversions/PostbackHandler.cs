using System.Net;
using System.Security.Cryptography;
using AffiliateTracker.Api;
using AffiliateTracker.Clicks;
using AffiliateTracker.Network;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;

namespace AffiliateTracker.Conversions;

/// Decides what a postback or pixel means: which click, which advertiser, which goal, how much, and
/// whether it is new, a duplicate, or a status change. Never touches PostgreSQL except to find a click
/// older than the Redis hot period.
public sealed class PostbackHandler(
    NetworkCache network, ClickLookup clicks, ConversionRecorder recorder, PostbackSigning signing, IOptions<ConversionOptions> options,
    TimeProvider time)
{
    private readonly ConversionOptions _options = options.Value;

    public enum Via { Postback, Pixel }

    public async Task<PostbackOutcome> HandleAsync(PostbackRequest req, Via via, string? cookieClickId, IPAddress? remoteIp)
    {
        var snapshot = network.Current;
        byte[]? tokenHash = null;
        if (via == Via.Postback)
        {
            if (req.Token is null && req.Signature is null)
                return PostbackOutcome.Fail(401, "missing_token", "The advertiser's postback token (token=...) or an X-Signature header is required.");
            if (req.Token is not null) tokenHash = ApiKeys.Hash(req.Token);
        }

        var clickId = via == Via.Pixel ? cookieClickId : req.ClickId;
        if (clickId is null)
            return via == Via.Pixel
                ? PostbackOutcome.Fail(400, "no_click_cookie", "This browser carries no click for the offer.")
                : PostbackOutcome.Fail(400, "missing_click_id", "click_id is required.");

        var click = await clicks.FindAsync(clickId);
        var offer = click is null ? null : snapshot.Offer(click.OfferId);
        if (click is null || offer is null)
            return PostbackOutcome.Fail(404, "unknown_click", "No click with this id is known.") with { ClickId = clickId };
        var outcome = await DecideAsync(req, via, click, offer, snapshot, tokenHash, remoteIp);
        return outcome with { AdvertiserId = offer.AdvertiserId, OfferId = offer.Id, ClickId = click.ClickId };
    }

    private async Task<PostbackOutcome> DecideAsync(PostbackRequest req, Via via, ClickRecord click, OfferConfig offer, NetworkSnapshot snapshot,
        byte[]? tokenHash, IPAddress? remoteIp)
    {
        var advertiser = snapshot.Advertiser(offer.AdvertiserId);
        if (advertiser is null) return PostbackOutcome.Fail(404, "unknown_click", "No click with this id is known.");
        if (via == Via.Postback)
        {
            // Constant-time comparison of hashes; the token itself is never stored.
            if (tokenHash is not null)
            {
                if (advertiser.PostbackTokenHash is null || !CryptographicOperations.FixedTimeEquals(tokenHash, advertiser.PostbackTokenHash))
                    return PostbackOutcome.Fail(403, "bad_token", "The token is not this offer's advertiser's postback token.");
            }
            else if (!signing.Verify(advertiser.Id, advertiser.SigningKeyVersion, req.Signed, req.Signature!))
            {
                return PostbackOutcome.Fail(403, "bad_signature", "The X-Signature is not an HMAC-SHA256 of this request by the advertiser's current signing key.");
            }
            if (advertiser.PostbackIps.Count > 0 && (remoteIp is null || !advertiser.PostbackIps.Contains(Normalize(remoteIp))))
                return PostbackOutcome.Fail(403, "ip_not_allowed", "Postbacks for this advertiser are accepted only from its listed addresses.");
        }
        else if (req.OfferId is { } pixelOffer && pixelOffer != offer.Id)
        {
            return PostbackOutcome.Fail(400, "offer_mismatch", "The click belongs to another offer.");
        }
        if (!advertiser.IsActive) return PostbackOutcome.Fail(403, "advertiser_suspended", "This advertiser is suspended.");

        var goalCode = req.Goal ?? offer.DefaultGoal;
        if (!offer.Goals.TryGetValue(goalCode, out var goal))
            return PostbackOutcome.Fail(422, "unknown_goal", $"The offer has no goal '{goalCode}'.");

        // A once-per-click goal (a lead) is one conversion per click whatever txid comes with it; other goals
        // are one conversion per txid.
        string dedupeKey;
        if (goal.OncePerClick) dedupeKey = "c:" + click.ClickId;
        else if (req.Txid is not null) dedupeKey = "t:" + req.Txid;
        else return PostbackOutcome.Fail(400, "txid_required", $"Goal '{goal.Code}' may convert more than once per click, so each conversion needs its txid.");

        var now = time.UtcNowForStorage();
        var actor = via == Via.Pixel ? "pixel" : $"advertiser:{advertiser.Id}";

        // A status for a conversion we already have is a status change.
        if (req.Status is ConversionStatus.Approved or ConversionStatus.Rejected)
        {
            var change = new ConversionStatusChanged(Guid.NewGuid(), req.Status, actor, req.Reason ?? $"{req.Status} by {via.ToString().ToLowerInvariant()}", now,
                offer.Id, goal.Code, dedupeKey);
            var (result, id, status) = await recorder.ChangeStatusAsync(offer.Id, goal.Code, dedupeKey, change);
            switch (result)
            {
                case ConversionRecorder.ChangeResult.Changed: return new PostbackOutcome(200, "updated", $"Conversion is now {status}.", id, status);
                case ConversionRecorder.ChangeResult.Unchanged: return new PostbackOutcome(200, "duplicate", $"Conversion is already {status}.", id, status);
                case ConversionRecorder.ChangeResult.HeldForReview:
                    return new PostbackOutcome(409, "held_for_review", "Conversion is flagged for review; a network admin decides whether it is approved.", id, status);
                case ConversionRecorder.ChangeResult.NotAllowed:
                    return new PostbackOutcome(409, "status_locked", $"Conversion is {status}; it cannot become {req.Status}.", id, status);
            }
        }

        if (now - click.CreatedAt > offer.AttributionWindow)
            return PostbackOutcome.Fail(410, "click_expired", $"The click is older than the offer's {offer.AttributionWindow.TotalHours:0}-hour attribution window.");

        var saleAmount = req.Amount;
        decimal? originalAmount = null;
        string? originalCurrency = null;
        if (req.Currency is { } currency && currency != offer.Currency)
        {
            if (snapshot.Rate(currency, offer.Currency) is not { } rate)
                return PostbackOutcome.Fail(422, "currency_mismatch", $"The offer is paid in {offer.Currency} and no {currency}→{offer.Currency} rate is configured.");
            (originalAmount, originalCurrency) = (saleAmount, currency);
            saleAmount = saleAmount is { } a ? Math.Round(a * rate, 4, MidpointRounding.AwayFromZero) : null;
            if (saleAmount > MaxAmount)
                return PostbackOutcome.Fail(400, "invalid_amount", $"amount converted to {offer.Currency} exceeds {MaxAmount}.");
        }

        var payoutRule = snapshot.Override(offer.Id, click.PublisherId, goal.Code) is { } o ? (o.PayoutType, o.Payout) : (goal.PayoutType, goal.Payout);
        if ((payoutRule.PayoutType == "percent" || goal.RevenueType == "percent") && saleAmount is null)
            return PostbackOutcome.Fail(400, "amount_required", $"Goal '{goal.Code}' pays a percentage of the sale, so amount is required.");

        var flags = new List<string>();
        if (now - click.CreatedAt < _options.MinTimeToConvert) flags.Add("too_fast");
        if (click.IsBot) flags.Add("bot_click");
        var status0 = req.Status ?? ConversionStatus.Pending;
        if (flags.Count > 0 && status0 == ConversionStatus.Approved) status0 = ConversionStatus.Pending;

        var created = new ConversionCreated(
            Guid.NewGuid(), Ulid.New(now), click.ClickId, click.CreatedAt, offer.Id, offer.AdvertiserId, click.PublisherId,
            goal.Code, req.Txid, dedupeKey, status0, saleAmount, offer.Currency, originalAmount, originalCurrency,
            Commission.Compute(payoutRule.PayoutType, payoutRule.Payout, saleAmount), Commission.Compute(goal.RevenueType, goal.Revenue, saleAmount),
            click.Sub1, click.Sub2, click.Sub3, click.Sub4, click.Sub5, click.Source, click.Ip, click.Country,
            flags.ToArray(), via == Via.Pixel ? "pixel" : "postback", now, now + offer.HoldPeriod, now, actor, req.Reason);

        var dedupeTtl = offer.AttributionWindow + offer.HoldPeriod + _options.DedupeGrace;
        var r = await recorder.CreateAsync(created, offer, snapshot.PublisherCaps(offer.Id, click.PublisherId),
            _options.MaxConversionsPerIpPerDay, dedupeTtl, now);
        return r.IsNew
            ? new PostbackOutcome(200, "created", flags.Count + r.Flags.Length > 0
                ? $"Conversion recorded and held for review ({string.Join(", ", flags.Concat(r.Flags))})." : "Conversion recorded.", r.ConversionId, r.Status)
            : new PostbackOutcome(200, "duplicate", "This conversion was already recorded.", r.ConversionId, r.Status);
    }

    // Keeps every stored amount, payout and revenue inside numeric(18,4).
    private const decimal MaxAmount = 1_000_000_000_000m;

    private static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
}
