using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AffiliateTracker.Abuse;

/// Fires requests with bounded concurrency (one keep-alive connection per worker) and checks every
/// answer as it comes: no 5xx, no redirect off the offer's hosts, no injected header, no reflected
/// markup, the pixel's contract. It also notes what the checks after the run compare with the database.
public sealed partial class AbuseRunner(EndPoint endPoint, AbuseTarget target, AbuseTally tally)
{
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(20);
    private long _retried;
    /// Requests sent again on a fresh connection because the server had closed the kept-alive one.
    public long Retried => Interlocked.Read(ref _retried);
    /// For each resend: the request answered just before the server closed the connection.
    public System.Collections.Concurrent.ConcurrentQueue<string> ClosedAfter { get; } = new();

    public async Task RunAsync(Func<int, AbuseRequest> generate, int first, int count, int concurrency, Action<long>? progress = null,
        CancellationToken ct = default)
    {
        var next = first - 1;
        var last = first + count - 1;
        long done = 0;
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            RawConnection? conn = null;
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) <= last && !ct.IsCancellationRequested)
                {
                    conn = await ExecuteAsync(generate(i), conn, ct);
                    var d = Interlocked.Increment(ref done);
                    if (d % 5000 == 0) progress?.Invoke(d);
                }
            }
            finally { conn?.Dispose(); }
        }, ct)).ToArray();
        await Task.WhenAll(workers);
    }

    /// Sends one request on the worker's connection (opening one if needed) and returns the connection
    /// to keep using, or null when it had to be closed.
    public async Task<RawConnection?> ExecuteAsync(AbuseRequest req, RawConnection? conn, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(RequestTimeout);
        if (req.AbortAfter >= 0)
        {
            conn?.Dispose();
            try
            {
                var c = await RawConnection.OpenAsync(endPoint, timeout.Token);
                await c.AbortAfterAsync(req.Bytes, req.AbortAfter, timeout.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { }
            tally.Add(req.Endpoint, "aborted");
            return null;
        }
        if (req.OneShot && conn is not null) { conn.Dispose(); conn = null; }
        RawResponse response;
        try
        {
            conn ??= await RawConnection.OpenAsync(endPoint, timeout.Token);
            try
            {
                response = await conn.SendAsync(req.Bytes, req.Head, timeout.Token);
            }
            catch (NoResponseException e) when (e.Reused)
            {
                conn.Dispose();
                Interlocked.Increment(ref _retried);
                if (ClosedAfter.Count < 50) ClosedAfter.Enqueue(conn.Last ?? "?");
                conn = await RawConnection.OpenAsync(endPoint, timeout.Token);
                response = await conn.SendAsync(req.Bytes, req.Head, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            conn?.Dispose();
            tally.Add(req.Endpoint, "timeout");
            if (req.WellFormed) tally.Violation("hung (no answer within the timeout)", req.ToString());
            return null;
        }
        catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or InvalidDataException)
        {
            conn?.Dispose();
            tally.Add(req.Endpoint, "no answer");
            if (req.WellFormed) tally.Violation("well-formed request dropped without an answer", $"{req} ({e.GetType().Name}: {e.Message})");
            return null;
        }
        conn.Last = $"{req} -> {response.Status}";
        var cls = ClassOf(req, response);
        tally.Add(req.Endpoint, cls);
        Inspect(req, response, cls);
        if (response.Close || req.OneShot) { conn.Dispose(); return null; }
        return conn;
    }

    // Two answers in the 5xx range are not server failures: Kestrel's 505 to a request line claiming HTTP/2.0 or 9.9
    // (the protocol's answer), and /health's 503 with its report that a store did not answer in time.
    private static string ClassOf(AbuseRequest req, RawResponse res) =>
        res.Status == 505 && req.Family == Family.Malformed ? "505 version"
        : res.Status == 503 && req.Family == Family.Health && res.Text.StartsWith("{\"status\":\"degraded\"", StringComparison.Ordinal) ? "503 health"
        : AbuseTally.ClassOf(res.Status);

    private void Inspect(AbuseRequest req, RawResponse res, string cls)
    {
        if (cls == "5xx") tally.Violation("5xx", $"{req} -> {res.Status} {Snippet(res)}");

        foreach (var h in res.Headers)
        {
            if (h.Key.Equals(Payloads.InjectedHeader, StringComparison.OrdinalIgnoreCase)
                || h.Key.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase) && h.Value.StartsWith(Payloads.InjectedCookie, StringComparison.OrdinalIgnoreCase))
                tally.Violation("header injection", $"{req} -> {h.Key}: {h.Value}");
        }
        if (res.Header("Content-Type")?.Contains("html", StringComparison.OrdinalIgnoreCase) == true
            && res.Text.Contains(Payloads.ScriptMarker, StringComparison.OrdinalIgnoreCase))
            tally.Violation("markup reflected unescaped", req.ToString());

        var path = PathOf(req);
        if (req.Family == Family.Click || path.StartsWith("/c/") || path.StartsWith("/s/") || path == "/click") InspectClick(req, res);
        // A path on this same server is not a redirect away from it: "/health/.." is "/", which sends a visitor to the console's sign-in.
        else if (res.Status is >= 300 and < 400 && res.Header("Location") is { } elsewhere && !OnThisServer(elsewhere))
            tally.Violation("unexpected redirect", $"{req} -> {res.Status} Location: {elsewhere}");

        if (req.PixelContract && res.Status != 429
            && !(res.Status == 200 && res.Header("Content-Type")?.StartsWith("image/gif", StringComparison.OrdinalIgnoreCase) == true))
            tally.Violation("pixel answered other than a 200 GIF", $"{req} -> {res.Status} {res.Header("Content-Type")}");

        if ((req.Family == Family.Postback || path == "/postback") && !req.Head) InspectPostback(req, res);
        if (res.Status == 201 && res.Header("Location") is { } created) InspectCreated(created, res);
    }

    private void InspectClick(AbuseRequest req, RawResponse res)
    {
        // The click cookie means the tracker recorded a click: note it for the partial-write check.
        TrackedOffer? recordedOn = null;
        foreach (var cookie in res.All("Set-Cookie"))
        {
            var m = ClickCookie().Match(cookie);
            if (!m.Success) continue;
            var offerId = long.Parse(m.Groups[1].Value);
            if (req.Head) tally.Violation("HEAD counted a click", $"{req} -> {cookie}");
            tally.LandedClicks[m.Groups[2].Value] = offerId;
            recordedOn = target.OfferById(offerId);
            if (recordedOn is null) tally.Violation("click recorded on an offer this run does not own", $"{req} -> {cookie}");
            else if (req.ExpectedOffer is { } expected && expected.Id != offerId)
                tally.Violation("click recorded on another offer than the link's", $"{req} -> {cookie}");
            else if (req.ExpectedSmartLink is { } smart && !smart.Offers.Contains(recordedOn))
                tally.Violation("smart link chose an offer its rules do not name (or one that cannot take the click)", $"{req} -> {cookie}");
        }
        if (res.Status is < 300 or >= 400) return;
        var location = res.Header("Location");
        if (location is null) return;
        if (location.Any(c => c is <= ' ' or > '~'))
            tally.Violation("non-canonical Location (space, control or non-ASCII)", $"{req} -> {location}");
        // HEAD shows where a visit would go without recording one: the offer's landing page is allowed without a cookie.
        var smartLink = req.ExpectedSmartLink;
        var candidates = req.ExpectedOffer is { } h ? [h] : smartLink is not null ? smartLink.Offers : target.Offers;
        var fallbacks = smartLink is not null ? [smartLink.FallbackOrigin]
            : (req.ExpectedOffer is { } e ? [e] : target.Offers).Select(o => o.FallbackOrigin).OfType<string>().ToArray();
        var ok = recordedOn is not null ? recordedOn.Allows(location)
            : fallbacks.Any(origin => OnOrigin(location, origin)) || (req.Head && candidates.Any(o => o.Allows(location) || o.FallbackOrigin is { } f && OnOrigin(location, f)));
        var allowed = recordedOn is not null ? [recordedOn.LandingOrigin, .. recordedOn.DeepLinkDomains] : fallbacks;
        // A path on this same server is not a redirect away from it: "/c/.." is "/", which sends a visitor to the console's sign-in.
        if (!OnThisServer(location) && !ok)
            tally.Violation("open redirect", $"{req} -> {res.Status} Location: {location} (allowed: {string.Join(", ", allowed)})");
    }

    private static bool OnThisServer(string location) => location.StartsWith('/') && (location.Length == 1 || location[1] is not '/' and not '\\');

    public static bool OnOrigin(string location, string origin) =>
        location.StartsWith(origin, StringComparison.OrdinalIgnoreCase)
        && (location.Length == origin.Length || location[origin.Length] is '/' or '?' or '#');

    private void InspectPostback(AbuseRequest req, RawResponse res)
    {
        if (res.Header("Content-Type")?.Contains("json", StringComparison.OrdinalIgnoreCase) != true) return;
        try
        {
            using var doc = JsonDocument.Parse(res.Body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return;
            if (res.Status == 200 && root.TryGetProperty("result", out var result))
            {
                var r = result.GetString() ?? "";
                tally.PostbackResult(r);
                var id = root.TryGetProperty("conversion_id", out var cid) ? cid.GetString() : null;
                tally.CountResolvedPostback();
                if (id is null) tally.Violation("postback answered 200 without a conversion id", $"{req} -> {res.Text}");
                else if (r == "created" && !tally.CreatedConversions.TryAdd(id, 0))
                    tally.Violation("conversion id answered created twice", $"{req} -> {id}");
                else if (r != "created") tally.ReferencedConversions.TryAdd(id, 0);
            }
            else if (root.TryGetProperty("error", out var error))
            {
                var e = error.GetString() ?? "";
                tally.PostbackResult($"{res.Status} {e}");
                var message = root.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
                if (DecidedOnAClick(res.Status, e, message)) tally.CountResolvedPostback();
            }
        }
        catch (JsonException)
        {
            tally.Violation("postback answer is not JSON", $"{req} -> {res.Status} {Snippet(res)}");
        }
    }

    /// Refusals decided after the click was found: the postback log records them with the click's offer.
    private static bool DecidedOnAClick(int status, string error, string message) => (status, error) switch
    {
        (403, "bad_token" or "bad_signature" or "ip_not_allowed" or "advertiser_suspended") => true,
        (422, "unknown_goal" or "currency_mismatch") => true,
        (400, "txid_required" or "amount_required") => true,
        (400, "invalid_amount") => message.StartsWith("amount converted", StringComparison.Ordinal),
        (410, "click_expired") or (409, "status_locked" or "held_for_review") => true,
        _ => false,
    };

    private void InspectCreated(string location, RawResponse res)
    {
        var m = CreatedLocation().Match(location);
        if (!m.Success) return;
        var id = long.Parse(m.Groups[2].Value);
        try
        {
            using var doc = JsonDocument.Parse(res.Body);
            var root = doc.RootElement;
            switch (m.Groups[1].Value)
            {
                case "offers":
                    tally.CreatedOffers[id] = root.TryGetProperty("goals", out var goals) ? goals.GetArrayLength() : 0;
                    break;
                case "links":
                    tally.CreatedLinks[id] = 0;
                    break;
                case "reconciliations":
                    tally.CreatedReconciliations[id] = (root.GetProperty("rows_read").GetInt32(), root.GetProperty("rows_malformed").GetInt32());
                    break;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            tally.Violation("201 without the record in its body", $"{location} -> {Snippet(res)}");
        }
    }

    /// The path the server saw: from the request line for raw requests, without an absolute-form's scheme and host.
    private static string PathOf(AbuseRequest req)
    {
        var target = req.Target;
        if (req.Family == Family.Malformed)
        {
            var parts = target.Split(' ', 3);
            target = parts.Length > 1 ? parts[1] : "";
        }
        if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            var slash = target.IndexOf('/', target.IndexOf("//", StringComparison.Ordinal) + 2);
            target = slash < 0 ? "/" : target[slash..];
        }
        var q = target.IndexOf('?');
        return q < 0 ? target : target[..q];
    }

    private static string Snippet(RawResponse res)
    {
        var text = res.Text;
        return text.Length > 300 ? text[..300] + "..." : text;
    }

    [GeneratedRegex(@"^atc_(\d+)=([0-9A-Z]{26})(;|$)")] private static partial Regex ClickCookie();
    [GeneratedRegex(@"^/api/v1/(offers|links|reconciliations)/(\d+)$")] private static partial Regex CreatedLocation();
}
