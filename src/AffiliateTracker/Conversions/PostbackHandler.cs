using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using AffiliateTracker.Access;
using AffiliateTracker.Clicks;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Options;

namespace AffiliateTracker.Conversions;

/// Decides what a postback or pixel means: which click, which advertiser, which goal, how much, and
/// whether it is new, a duplicate, or a status change. Never touches PostgreSQL except to find a click
/// older than the Redis hot period. What a browser reports (an unsigned pixel: its txid and amount are
/// the visitor's to forge) is bounded by the goal and waits for the advertiser's confirmation.
public sealed class PostbackHandler(
    NetworkCache network, ClickLookup clicks, ConversionRecorder recorder, PostbackSigning signing, IOptions<ConversionOptions> options,
    VisitorCountry countries, TrafficClassifier traffic, TimeProvider time)
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
        var now = time.UtcNowForStorage();
        if (Authenticate(req, via, offer, advertiser, tokenHash, remoteIp, now, out var fromBrowser) is { } refused) return refused;
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

        var actor = via == Via.Pixel ? "pixel" : $"advertiser:{advertiser.Id}";

        // A status for a conversion we already have is a status change.
        if (req.Status is ConversionStatus.Approved or ConversionStatus.Rejected
            && await ChangeStatusAsync(req, via, click, offer, goal, snapshot, dedupeKey, actor, now) is { } changed)
            return changed;

        if (now - click.CreatedAt > offer.AttributionWindow)
            return PostbackOutcome.Fail(410, "click_expired", $"The click is older than the offer's {offer.AttributionWindow.TotalHours:0}-hour attribution window.");

        var flags = new List<string>();
        if (Price(req, offer, goal, click, snapshot, fromBrowser, out var money) is { } invalid) return invalid;
        if (money.OverLimit) flags.Add("amount_over_limit");
        if (now - click.CreatedAt < _options.MinTimeToConvert) flags.Add("too_fast");
        if (click.IsBot) flags.Add("bot_click");
        // A click from a hosting or cloud network is a server, not a shopper, far more often than not.
        var clickAddress = IPAddress.TryParse(click.Ip, out var parsed) ? parsed : null;
        if (traffic.Networks.Lookup(clickAddress) is { IsHosting: true }) flags.Add("datacenter");
        var status0 = ConversionRules.StatusOnArrival(req.Status, flags);
        var awaiting = fromBrowser && !offer.PixelAutoApprove;

        var created = new ConversionCreated(
            EventIds.New(now), Ulid.New(now), click.ClickId, click.CreatedAt, offer.Id, offer.AdvertiserId, click.PublisherId,
            goal.Code, req.Txid, dedupeKey, status0, money.Amount, offer.Currency, money.OriginalAmount, money.OriginalCurrency,
            money.Payout, money.Revenue,
            click.Sub1, click.Sub2, click.Sub3, click.Sub4, click.Sub5, click.Source, click.Ip,
            // The redirect looked the country up only where it decided where the visitor went.
            click.Country ?? (clickAddress is null ? null : countries.Lookup(clickAddress)),
            flags.ToArray(), via == Via.Pixel ? "pixel" : "postback", now, now + offer.HoldPeriod, now, actor, req.Reason, awaiting,
            // The conversion is its postback's log entry (PostbackLog): the caller and what it sent.
            remoteIp?.ToString(), InputText.Clean(PostbackLog.Sanitize(req.Parameters)));

        var dedupeTtl = offer.AttributionWindow + offer.HoldPeriod + _options.DedupeGrace;
        var r = await recorder.CreateAsync(created, offer, snapshot.PublisherCaps(offer.Id, click.PublisherId),
            _options.MaxConversionsPerIpPerDay, dedupeTtl, now);
        if (r.IsNew)
        {
            var held = flags.Concat(r.Flags).ToList();
            // The postback_log_entries view (migration 0013) rebuilds these messages from the conversion: change both.
            return new PostbackOutcome(200, PostbackOutcome.Created,
                held.Count > 0 ? $"Conversion recorded and held for review ({string.Join(", ", held)})."
                : awaiting ? "Conversion recorded; it waits for the advertiser's confirmation before it can be approved."
                : "Conversion recorded.", r.ConversionId, r.Status);
        }
        // The advertiser's server reports what a browser reported first: that is the confirmation, and its amount wins.
        if (r.Unconfirmed && via == Via.Postback)
        {
            var (confirmed, id, status) = await recorder.ConfirmAsync(Confirmation(actor, now, offer, goal, dedupeKey, req.Amount is null ? null : money));
            if (confirmed == ConversionRecorder.ConfirmResult.Confirmed)
                return new PostbackOutcome(200, "updated", req.Amount is null ? "Conversion confirmed as reported."
                    : "Conversion confirmed; its amount, payout and revenue now follow the amount this postback gives.", id, status);
        }
        return new PostbackOutcome(200, "duplicate", "This conversion was already recorded.", r.ConversionId, r.Status);
    }

    /// Who is speaking for the advertiser: its server (token or signature, from a listed address), a pixel it signed,
    /// or a browser (an unsigned pixel). Null when the request may go on.
    private PostbackOutcome? Authenticate(PostbackRequest req, Via via, OfferConfig offer, AdvertiserConfig advertiser, byte[]? tokenHash,
        IPAddress? remoteIp, DateTimeOffset now, out bool fromBrowser)
    {
        // What a browser reports (an unsigned pixel) is bounded and waits for the advertiser; what the advertiser's
        // server says, or signed for the browser to carry, is the advertiser's word.
        fromBrowser = false;
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
        else if (req.PixelSignature is not null)
        {
            return CheckSignedPixel(req, offer, advertiser, now);
        }
        else fromBrowser = true;
        return null;
    }

    /// A postback with approved or rejected for a conversion already recorded. Null when there is none yet (an
    /// approved first postback creates the conversion).
    private async Task<PostbackOutcome?> ChangeStatusAsync(PostbackRequest req, Via via, ClickRecord click, OfferConfig offer, GoalConfig goal,
        NetworkSnapshot snapshot, string dedupeKey, string actor, DateTimeOffset now)
    {
        var change = new ConversionStatusChanged(EventIds.New(now), req.Status!, actor, req.Reason ?? $"{req.Status} by {via.ToString().ToLowerInvariant()}", now,
            offer.Id, goal.Code, dedupeKey);
        var (result, id, status) = await recorder.ChangeStatusAsync(offer.Id, goal.Code, dedupeKey, change);
        if (result == ConversionRecorder.ChangeResult.NeedsConfirmation)
        {
            // The advertiser approves what a browser reported: that confirms it, at the amount the approval names.
            Priced? priced = null;
            if (req.Amount is not null && Price(req, offer, goal, click, snapshot, fromBrowser: false, out priced) is { } refused) return refused;
            await recorder.ConfirmAsync(Confirmation(actor, now, offer, goal, dedupeKey, priced));
            (result, id, status) = await recorder.ChangeStatusAsync(offer.Id, goal.Code, dedupeKey, change);
        }
        switch (result)
        {
            case ConversionRecorder.ChangeResult.Changed: return new PostbackOutcome(200, "updated", $"Conversion is now {status}.", id, status);
            case ConversionRecorder.ChangeResult.Unchanged: return new PostbackOutcome(200, "duplicate", $"Conversion is already {status}.", id, status);
            case ConversionRecorder.ChangeResult.HeldForReview:
                return new PostbackOutcome(409, "held_for_review", "Conversion is flagged for review; a network admin decides whether it is approved.", id, status);
            case ConversionRecorder.ChangeResult.NotAllowed or ConversionRecorder.ChangeResult.NeedsConfirmation:
                return new PostbackOutcome(409, "status_locked", $"Conversion is {status}; it cannot become {req.Status}.", id, status);
        }
        return null;
    }

    /// The money of a conversion: the sale amount in the offer's currency, and what the goal pays on it. An unsigned
    /// pixel's amount is the browser's word: a goal's pixel_amount replaces it, and max_amount caps it (flagged).
    private sealed record Priced(decimal? Amount, decimal? OriginalAmount, string? OriginalCurrency, decimal Payout, decimal Revenue, bool OverLimit);

    private static PostbackOutcome? Price(PostbackRequest req, OfferConfig offer, GoalConfig goal, ClickRecord click, NetworkSnapshot snapshot,
        bool fromBrowser, out Priced priced)
    {
        priced = null!;
        var saleAmount = req.Amount;
        decimal? originalAmount = null;
        string? originalCurrency = null;
        if (fromBrowser && goal.PixelAmount is { } fixedAmount)
        {
            saleAmount = fixedAmount;
        }
        else if (req.Currency is { } currency && currency != offer.Currency)
        {
            if (snapshot.Rate(currency, offer.Currency) is not { } rate)
                return PostbackOutcome.Fail(422, "currency_mismatch", $"The offer is paid in {offer.Currency} and no {currency}→{offer.Currency} rate is configured.");
            (originalAmount, originalCurrency) = (saleAmount, currency);
            saleAmount = saleAmount is { } a ? Math.Round(a * rate, 4, MidpointRounding.AwayFromZero) : null;
            if (saleAmount > MoneyText.Max)
                return PostbackOutcome.Fail(400, "invalid_amount", $"amount converted to {offer.Currency} exceeds {MoneyText.Max}.");
        }
        var overLimit = fromBrowser && goal.MaxAmount is { } max && saleAmount > max;
        if (overLimit) saleAmount = goal.MaxAmount;

        var payoutRule = snapshot.Override(offer.Id, click.PublisherId, goal.Code) is { } o ? (o.PayoutType, o.Payout) : (goal.PayoutType, goal.Payout);
        if ((payoutRule.PayoutType == "percent" || goal.RevenueType == "percent") && saleAmount is null)
            return PostbackOutcome.Fail(400, "amount_required", $"Goal '{goal.Code}' pays a percentage of the sale, so amount is required.");
        priced = new Priced(saleAmount, originalAmount, originalCurrency,
            Commission.Compute(payoutRule.PayoutType, payoutRule.Payout, saleAmount), Commission.Compute(goal.RevenueType, goal.Revenue, saleAmount), overLimit);
        return null;
    }

    private static ConversionConfirmed Confirmation(string actor, DateTimeOffset now, OfferConfig offer, GoalConfig goal, string dedupeKey, Priced? money) =>
        new(EventIds.New(now), actor, now, offer.Id, goal.Code, dedupeKey, money?.Amount, money?.OriginalAmount, money?.OriginalCurrency, money?.Payout, money?.Revenue);

    /// A pixel the advertiser signed for the browser to carry: its amount and txid are the advertiser's word.
    private PostbackOutcome? CheckSignedPixel(PostbackRequest req, OfferConfig offer, AdvertiserConfig advertiser, DateTimeOffset now)
    {
        if (req.Txid is null) return PostbackOutcome.Fail(400, "txid_required", "A signed pixel names the order it signs: txid is required.");
        if (!long.TryParse(req.Expires, NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
            return PostbackOutcome.Fail(400, "invalid_expires", "A signed pixel needs expires, a Unix time in seconds.");
        var message = PostbackSigning.PixelMessage(offer.Id, req.Goal, req.Txid, req.AmountText, expires);
        if (!signing.VerifyPixel(advertiser.Id, advertiser.SigningKeyVersion, message, req.PixelSignature!))
            return PostbackOutcome.Fail(403, "bad_signature", "sig is not an HMAC-SHA256 of this pixel by the advertiser's current signing key.");
        if (now.ToUnixTimeSeconds() > expires) return PostbackOutcome.Fail(403, "signature_expired", "The pixel's signature has expired.");
        return null;
    }

    private static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
}
