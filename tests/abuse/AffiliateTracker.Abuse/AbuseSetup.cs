using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AffiliateTracker.Abuse;

/// Builds the network the run attacks, through the admin API as an operator would: offers whose
/// redirects may go to known hosts only, a publisher with links, keys for every role, a pool of real
/// clicks for postbacks and the pixel, and records the fuzzer may change at will. It also offers the
/// server hostile landing URLs once: those with a macro where the host is decided must be refused,
/// the others must redirect cleanly to their own host.
public sealed class AbuseSetup(Uri baseUri, string adminKey, AbuseTally tally, TextWriter log)
{
    /// Landing URLs the server must refuse: a visitor's sub-id would pick the host.
    public static readonly string[] MustRefuse =
    [
        "https:/\\{sub1}", "https:\\\\{sub1}", "http:/\\{sub1}/x", "https://{sub1}/", "https://{sub1}.probe.example/",
        "https://probe.example{sub1}/", "https://probe.example:{sub1}/", "https://{sub1}@probe.example/", "https://probe.example\\@{sub1}/",
        "https:{sub1}", "//{sub1}/", "{sub1}", "javascript:{sub1}", "data:text/html,{sub1}", "https:/{sub1}", "https:///{sub1}",
        "https://probe.example@{sub1}/", "https:/\\/{sub1}", "https:\\/{sub1}", "https:/%5C{sub1}",
    ];

    /// Odd but harmless landing URLs (template, the only origin its redirects may use, used as fallback):
    /// the server may refuse them, or accept them and redirect to that origin with a clean Location.
    public static readonly (string Template, string Origin, bool Fallback)[] MayAccept =
    [
        ("https://bücher-probe.example/{sub1}?q={sub2}", "https://xn--bcher-probe-thb.example", false),
        ("https://probe-space.example/a b/{sub1}", "https://probe-space.example", false),
        ("https://probe-unicode.example/größe/{sub1}?ü={sub2}", "https://probe-unicode.example", false),
        ("https://probe-tab.example/a\tb/{sub1}", "https://probe-tab.example", false),
        ("https://probe-crlf.example/x\r\n" + Payloads.InjectedHeader + ": 1/{sub1}", "https://probe-crlf.example", false),
        ("HTTPS://PROBE-UPPER.EXAMPLE/{sub1}", "https://probe-upper.example", false),
        ("https://probe-pct.example/%zz/{sub1}", "https://probe-pct.example", false),
        ("https://probe-port.example:8443/{sub1}", "https://probe-port.example:8443", false),
        ("https://probe-brace.example/{sub1}{sub2}/{unknown}/{", "https://probe-brace.example", false),
        ("https://probe-query.example?x={sub1}", "https://probe-query.example", false),
        ("https://probe-hash.example#{sub1}", "https://probe-hash.example", false),
        ("https://probe-backslash.example/a\\b/{sub1}", "https://probe-backslash.example", false),
        ("https://probe-nul.example/\u0000/{sub1}", "https://probe-nul.example", false),
        ("https://probe-rtl.example/\u202E/{sub1}", "https://probe-rtl.example", false),
        ("http://probe-http.example/{sub1}", "http://probe-http.example", false),
        ("https://fallback-ünïcode.example/{sub1}", "https://xn--fallback-ncode-4mb0s.example", true),
        ("https://fallback-space.example/a b?s={sub1}", "https://fallback-space.example", true),
    ];

    private HttpClient _admin = null!;
    private int _calls, _links;

    public async Task<AbuseTarget> RunAsync(int seed, Func<AbuseTarget, Func<AbuseRequest, Task>> clicker)
    {
        _admin = Client(adminKey);
        var tag = $"abuse-{seed}-{DateTime.UtcNow:yyyyMMddHHmmss}";
        var t = new AbuseTarget { HostHeader = baseUri.Authority, Seed = seed, Tag = tag, AdminKey = adminKey };
        var click = clicker(t);

        var advertiser = await PostAsync("/api/v1/advertisers", new { name = $"{tag} advertiser" });
        t.AdvertiserId = advertiser["id"]!.GetValue<long>();
        t.PostbackToken = advertiser["postback_token"]!.GetValue<string>();
        t.PublisherId = (await PostAsync("/api/v1/publishers", new { name = $"{tag} publisher" }))["id"]!.GetValue<long>();
        var suspended = (await PostAsync("/api/v1/publishers", new { name = $"{tag} suspended publisher" }))["id"]!.GetValue<long>();
        var revoked = (await PostAsync("/api/v1/publishers", new { name = $"{tag} revoked publisher" }))["id"]!.GetValue<long>();
        t.AdvertiserKey = await KeyAsync("advertiser", t.AdvertiserId, null);
        t.PublisherKey = await KeyAsync("publisher", null, t.PublisherId);
        await PutAsync($"/api/v1/currency-rates/{AbuseTarget.OwnCurrencies[0]}/USD", new { rate = 1.25m });

        // Each offer lands on its own host, so a Location says which offer it belongs to.
        var main = await OfferAsync(t, "main", $"https://main.{tag}.example/land/{{offer_id}}?cid={{click_id}}&aff={{aff_id}}&s1={{sub1}}&s2={{sub2}}&s3={{sub3}}&s4={{sub4}}&s5={{sub5}}&src={{source}}",
            $"https://fallback-main.{tag}.example/fb?s1={{sub1}}", extra: null);
        var path = await OfferAsync(t, "path macros", $"https://path.{tag}.example/p/{{sub1}}/{{sub2}}/{{source}}/land?cid={{click_id}}", null, null);
        var paused = await OfferAsync(t, "paused", $"https://paused.{tag}.example/land?cid={{click_id}}", $"https://fallback-paused.{tag}.example/x/{{sub1}}?s={{sub2}}", new { status = "paused" });
        var geo = await OfferAsync(t, "geo", $"https://geo.{tag}.example/land?cid={{click_id}}&s1={{sub1}}", $"https://fallback-geo.{tag}.example/geo", new { allowed_countries = new[] { "US", "DE" } });
        var pixel = await OfferAsync(t, "pixel", $"https://pixel.{tag}.example/land?cid={{click_id}}", null, null);
        // Deep links may go to the shop and the brand's subdomains only.
        string[] deepDomains = [$"shop.{tag}.example", $"*.brand.{tag}.example"];
        var deep = await OfferAsync(t, "deep links", $"https://deep.{tag}.example/land?cid={{click_id}}", null,
            new { deep_link_domains = deepDomains, deep_link_template = "clickid={click_id}&s1={sub1}" }, deepDomains);
        t.DeepLinkOffer = deep;
        t.PostbackOffers.AddRange([main, path, geo]);
        t.PixelOffer = pixel;

        // Links that must go to the fallback: a suspended publisher, a revoked grant, a disabled link.
        foreach (var o in new[] { main, path, paused, geo, pixel, deep }) o.LinkCodes.Add(await LinkAsync(o.Id, t.PublisherId));

        // Smart links: one choosing by OS, country and weight (the paused offer must never be chosen), one disabled.
        t.SmartLinks.Add((await SmartLinkAsync(t, "smart", [main, geo, path, deep], new object[]
        {
            new { os = new[] { "ios" }, offers = new[] { new { offer_id = main.Id } } },
            new { countries = new[] { "DE" }, offers = new[] { new { offer_id = geo.Id } } },
            new { offers = new[] { new { offer_id = paused.Id, weight = 1000 }, new { offer_id = deep.Id, weight = 1 }, new { offer_id = path.Id, weight = 2 } } },
        })).Link);
        var off = await SmartLinkAsync(t, "smart-off", [], new object[] { new { offers = new[] { new { offer_id = main.Id } } } });
        await PatchAsync($"/api/v1/smart-links/{off.Id}", new { status = "disabled" });
        t.SmartLinks.Add(off.Link);
        await GrantAsync(main.Id, suspended);
        main.LinkCodes.Add(await LinkAsync(main.Id, suspended));
        await PatchAsync($"/api/v1/publishers/{suspended}", new { status = "suspended" });
        await GrantAsync(main.Id, revoked);
        main.LinkCodes.Add(await LinkAsync(main.Id, revoked));
        await SendAsync(HttpMethod.Delete, $"/api/v1/offers/{main.Id}/publishers/{revoked}", null);
        var disabled = await PostAsync("/api/v1/links", new { offer_id = main.Id, publisher_id = t.PublisherId });
        _links++;
        await PatchAsync($"/api/v1/links/{disabled["id"]}", new { status = "disabled" });
        main.LinkCodes.Add(disabled["code"]!.GetValue<string>());

        // Records the fuzzer may PATCH, PUT and DELETE: nothing the clicks and postbacks above depend on.
        t.SacrificialAdvertiserId = (await PostAsync("/api/v1/advertisers", new { name = $"{tag} sacrificial advertiser" }))["id"]!.GetValue<long>();
        t.SacrificialPublisherId = (await PostAsync("/api/v1/publishers", new { name = $"{tag} sacrificial publisher" }))["id"]!.GetValue<long>();
        t.SacrificialOfferId = (await PostAsync("/api/v1/offers", OfferBody(t.SacrificialAdvertiserId, $"{tag} sacrificial offer",
            $"https://sacrificial.{tag}.example/land?cid={{click_id}}", null, null)))["id"]!.GetValue<long>();
        await GrantAsync(t.SacrificialOfferId, t.SacrificialPublisherId);
        _links++;
        t.SacrificialLinkId = (await PostAsync("/api/v1/links", new { offer_id = t.SacrificialOfferId, publisher_id = t.SacrificialPublisherId }))["id"]!.GetValue<long>();
        t.SacrificialAdvertiserKey = await KeyAsync("advertiser", t.SacrificialAdvertiserId, null);
        t.SacrificialPublisherKey = await KeyAsync("publisher", null, t.SacrificialPublisherId);
        await PatchAsync($"/api/v1/offers/{t.SacrificialOfferId}", new { deep_link_domains = new[] { $"shop.{tag}.example" } });
        t.SacrificialSmartLinkId = (await SmartLinkAsync(t, "sacrificial smart", [], new object[] { new { offers = new[] { new { offer_id = t.SacrificialOfferId } } } },
            t.SacrificialPublisherId)).Id;
        t.SacrificialFeedId = (await PostAsync($"/api/v1/offers/{t.SacrificialOfferId}/product-feeds", new { name = $"{tag} sacrificial feed" }))["id"]!.GetValue<long>();
        t.SacrificialKeyId = (await PostAsync("/api/v1/api-keys", new { role = "publisher", publisher_id = t.SacrificialPublisherId, name = $"{tag} doomed key" }))["id"]!.GetValue<long>();

        await ProbeLandingUrlsAsync(t);
        t.SetupLinks = _links;

        // Real clicks to convert: postbacks name them, the pixel carries them in its cookie.
        var clickIndex = -1;
        async Task<List<string>> ClicksAsync(TrackedOffer offer, int n)
        {
            var before = tally.LandedClicks.Where(c => c.Value == offer.Id).Select(c => c.Key).ToHashSet();
            for (var i = 0; i < n; i++)
                await click(RequestGenerator.SetupClick(t, offer, clickIndex--, i));
            return tally.LandedClicks.Where(c => c.Value == offer.Id && !before.Contains(c.Key)).Select(c => c.Key).Order().ToList();
        }
        var postbackClicks = new List<string>();
        foreach (var o in t.PostbackOffers) postbackClicks.AddRange(await ClicksAsync(o, 40));
        t.PostbackClicks = [.. postbackClicks];
        t.PixelClicks = [.. await ClicksAsync(pixel, 40)];
        if (t.PostbackClicks.Length == 0 || t.PixelClicks.Length == 0) throw new InvalidOperationException("Setup clicks did not redirect to the landing page");

        // One reconciliation of our own, so "apply" has something to apply (once).
        var csv = "txid,status,amount\nabuse-setup-1,approved,10.00\n";
        var rec = await SendRawAsync(HttpMethod.Post, $"/api/v1/reconciliations?advertiser_id={t.AdvertiserId}", new StringContent(csv, Encoding.UTF8, "text/csv"));
        t.ReconciliationId = rec["id"]!.GetValue<long>();
        tally.CreatedReconciliations[t.ReconciliationId] = (rec["rows_read"]!.GetValue<int>(), rec["rows_malformed"]!.GetValue<int>());

        log.WriteLine($"setup: {_calls} admin API calls, {t.Offers.Count} offers ({t.ProbeOffers.Count} landing-URL probes accepted), " +
                      $"{t.PostbackClicks.Length + t.PixelClicks.Length} clicks to convert, tag {tag}");
        return t;
    }

    private async Task ProbeLandingUrlsAsync(AbuseTarget t)
    {
        foreach (var template in MustRefuse)
        {
            var r = await TryPostAsync("/api/v1/offers", OfferBody(t.SacrificialAdvertiserId, $"{t.Tag} probe", template, null, null));
            if ((int)r.Status == 201)
            {
                // Accepted: clicks on it show where a visitor's sub-id sends the redirect (any Location is an open redirect).
                tally.Violation("landing URL with a macro in the host accepted", template);
                var offer = new TrackedOffer { Id = r.Body!["id"]!.GetValue<long>(), Label = $"probe {template}", LandingOrigin = "https://must-not-redirect.invalid" };
                await GrantAsync(offer.Id, t.PublisherId);
                offer.LinkCodes.Add(await LinkAsync(offer.Id, t.PublisherId));
                t.Offers.Add(offer);
                t.ProbeOffers.Add(offer);
            }
            else if ((int)r.Status >= 500) tally.Violation("5xx", $"POST /api/v1/offers landing_url={template} -> {(int)r.Status}");
        }
        var n = 0;
        foreach (var (template, origin, fallback) in MayAccept)
        {
            n++;
            var body = fallback
                ? OfferBody(t.SacrificialAdvertiserId, $"{t.Tag} probe {n}", $"https://probe-landing-{n}.example/", template, new { status = "paused" })
                : OfferBody(t.SacrificialAdvertiserId, $"{t.Tag} probe {n}", template, null, null);
            var r = await TryPostAsync("/api/v1/offers", body);
            if ((int)r.Status >= 500) tally.Violation("5xx", $"POST /api/v1/offers {(fallback ? "fallback_url" : "landing_url")}={template} -> {(int)r.Status}");
            if ((int)r.Status != 201) continue;
            var offer = new TrackedOffer
            {
                Id = r.Body!["id"]!.GetValue<long>(), Label = $"probe {template}", PublisherId = t.PublisherId,
                LandingOrigin = fallback ? $"https://probe-landing-{n}.example" : origin, FallbackOrigin = fallback ? origin : null,
            };
            await GrantAsync(offer.Id, t.PublisherId);
            offer.LinkCodes.Add(await LinkAsync(offer.Id, t.PublisherId));
            t.Offers.Add(offer);
            t.ProbeOffers.Add(offer);
        }
    }

    private async Task<(long Id, TrackedSmartLink Link)> SmartLinkAsync(AbuseTarget t, string label, List<TrackedOffer> offers, object[] rules,
        long? publisherId = null)
    {
        var fallback = $"https://{label.Replace(' ', '-')}-fallback.{t.Tag}.example/x?s={{sub1}}";
        var created = await PostAsync("/api/v1/smart-links", new { publisher_id = publisherId ?? t.PublisherId, name = $"{t.Tag} {label}", rules, fallback_url = fallback });
        return (created["id"]!.GetValue<long>(), new TrackedSmartLink
        {
            Code = created["code"]!.GetValue<string>(), Offers = offers,
            FallbackOrigin = new Uri(fallback.Replace("{", "").Replace("}", "")).GetLeftPart(UriPartial.Authority),
        });
    }

    private async Task<TrackedOffer> OfferAsync(AbuseTarget t, string label, string landing, string? fallback, object? extra, string[]? deepLinkDomains = null)
    {
        var id = (await PostAsync("/api/v1/offers", OfferBody(t.AdvertiserId, $"{t.Tag} {label}", landing, fallback, extra)))["id"]!.GetValue<long>();
        await GrantAsync(id, t.PublisherId);
        var offer = new TrackedOffer
        {
            Id = id, Label = label, PublisherId = t.PublisherId,
            LandingOrigin = new Uri(landing.Replace("{", "").Replace("}", "")).GetLeftPart(UriPartial.Authority),
            FallbackOrigin = fallback is null ? null : new Uri(fallback.Replace("{", "").Replace("}", "")).GetLeftPart(UriPartial.Authority),
            DeepLinkDomains = deepLinkDomains ?? [],
        };
        t.Offers.Add(offer);
        return offer;
    }

    /// Goals every offer of the run has: a sale paying 10 % of the amount (one per txid), a lead paying 2.50 (one per click).
    public static JsonObject OfferBody(long advertiserId, string name, string landing, string? fallback, object? extra)
    {
        var body = new JsonObject
        {
            ["advertiser_id"] = advertiserId, ["name"] = name, ["landing_url"] = landing, ["fallback_url"] = fallback,
            ["goals"] = new JsonArray(
                new JsonObject { ["code"] = "sale", ["payout_type"] = "percent", ["payout"] = 10m, ["revenue_type"] = "percent", ["revenue"] = 15m, ["once_per_click"] = false },
                new JsonObject { ["code"] = "lead", ["payout_type"] = "fixed", ["payout"] = 2.50m, ["revenue_type"] = "fixed", ["revenue"] = 4.00m, ["once_per_click"] = true }),
        };
        if (extra is not null)
            foreach (var (k, v) in JsonSerializer.SerializeToNode(extra)!.AsObject()) body[k] = v?.DeepClone();
        return body;
    }

    private async Task<string> LinkAsync(long offerId, long publisherId)
    {
        _links++;
        return (await PostAsync("/api/v1/links", new { offer_id = offerId, publisher_id = publisherId }))["code"]!.GetValue<string>();
    }

    private Task GrantAsync(long offerId, long publisherId) => PutAsync($"/api/v1/offers/{offerId}/publishers/{publisherId}", new { });

    private async Task<string> KeyAsync(string role, long? advertiserId, long? publisherId) =>
        (await PostAsync("/api/v1/api-keys", new { role, advertiser_id = advertiserId, publisher_id = publisherId, name = "abuse suite" }))["key"]!.GetValue<string>();

    private Task<JsonObject> PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, body);
    private Task<JsonObject> PutAsync(string path, object body) => SendAsync(HttpMethod.Put, path, body);
    private Task<JsonObject> PatchAsync(string path, object body) => SendAsync(HttpMethod.Patch, path, body);

    private Task<JsonObject> SendAsync(HttpMethod method, string path, object? body) =>
        SendRawAsync(method, path, body is null ? null : new StringContent(body is JsonNode n ? n.ToJsonString() : JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));

    private async Task<JsonObject> SendRawAsync(HttpMethod method, string path, HttpContent? content)
    {
        var (status, json, text) = await CallAsync(method, path, content);
        if ((int)status is < 200 or >= 300)
            throw new InvalidOperationException($"Setup call {method} {path} answered {(int)status}: {text}");
        return json ?? [];
    }

    private async Task<(HttpStatusCode Status, JsonObject? Body)> TryPostAsync(string path, JsonObject body)
    {
        var (status, json, _) = await CallAsync(HttpMethod.Post, path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return (status, json);
    }

    private async Task<(HttpStatusCode, JsonObject?, string)> CallAsync(HttpMethod method, string path, HttpContent? content)
    {
        _calls++;
        var body = content is null ? null : await content.ReadAsByteArrayAsync();
        var contentType = content?.Headers.ContentType;
        using var response = await HttpJson.SendPatientlyAsync(_admin, () =>
        {
            var request = new HttpRequestMessage(method, path);
            if (body is not null) request.Content = new ByteArrayContent(body) { Headers = { ContentType = contentType } };
            return request;
        });
        var text = await response.Content.ReadAsStringAsync();
        JsonObject? json = null;
        try { json = text.Length > 0 ? JsonNode.Parse(text) as JsonObject : null; } catch (JsonException) { }
        return (response.StatusCode, json, text);
    }

    private HttpClient Client(string key)
    {
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
