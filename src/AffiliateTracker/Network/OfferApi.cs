using AffiliateTracker.Access;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Network;

public sealed record GoalInput(string? Code, string? Name, string? PayoutType, [property: JsonConverter(typeof(MoneyJsonConverter))] decimal? Payout,
    string? RevenueType, [property: JsonConverter(typeof(MoneyJsonConverter))] decimal? Revenue, bool? OncePerClick,
    [property: JsonConverter(typeof(MoneyJsonConverter))] decimal? MaxAmount = null,
    [property: JsonConverter(typeof(MoneyJsonConverter))] decimal? PixelAmount = null);

public sealed record OfferInput(
    long? AdvertiserId, string? Name, string? Status, string? LandingUrl, string? FallbackUrl, string? Currency,
    int? AttributionWindowHours, int? HoldPeriodHours, bool? ManualApproval, string? DefaultGoal,
    int? DailyClickCap, int? MonthlyClickCap, int? DailyConversionCap, int? MonthlyConversionCap,
    string[]? AllowedCountries, GoalInput[]? Goals, bool? PixelAutoApprove = null, string? Visibility = null, string? Description = null,
    string[]? DeepLinkDomains = null, string? DeepLinkTemplate = null);


public sealed class GoalView
{
    [JsonIgnore] public long OfferId { get; init; }
    public string Code { get; init; } = "";
    public string Name { get; init; } = "";
    public string PayoutType { get; set; } = "";
    public decimal Payout { get; set; }
    public string? RevenueType { get; set; }
    public decimal? Revenue { get; set; }
    public bool OncePerClick { get; init; }
    public decimal? MaxAmount { get; set; }
    public decimal? PixelAmount { get; set; }
}

public sealed class OfferView
{
    public long Id { get; init; }
    public long? AdvertiserId { get; set; }
    public string Name { get; init; } = "";
    public string Status { get; init; } = "";
    public string? LandingUrl { get; set; }
    public string? FallbackUrl { get; set; }
    public string Currency { get; init; } = "";
    public int AttributionWindowHours { get; init; }
    public int HoldPeriodHours { get; init; }
    public bool ManualApproval { get; init; }
    public string DefaultGoal { get; init; } = "";
    public int? DailyClickCap { get; init; }
    public int? MonthlyClickCap { get; init; }
    public int? DailyConversionCap { get; init; }
    public int? MonthlyConversionCap { get; init; }
    public string[] AllowedCountries { get; init; } = [];
    public bool PixelAutoApprove { get; init; }
    /// public: listed to every publisher, who may ask to run it; private: seen only by publishers granted it.
    public string Visibility { get; init; } = "private";
    public string Description { get; init; } = "";
    /// Hosts publishers may deep-link to ('shop.example', '*.shop.example'); none = deep links go to the landing page.
    public string[] DeepLinkDomains { get; init; } = [];
    /// How the click id reaches a deep-linked page: query parameters, or a redirector URL with {url}.
    public string? DeepLinkTemplate { get; set; }
    public List<GoalView> Goals { get; set; } = [];
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
}

public static class OfferApi
{
    public static void MapOffers(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/offers").WithTags("Offers");

        g.MapPost("/", async (OfferInput? body, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var offer = await CreateAsync(conn, caller, network, Validate.Body(body));
            return Results.Created($"/api/v1/offers/{offer.Id}", offer);
        });

        // Admins see every offer, advertisers their own, publishers those they may run (with their payout,
        // without the advertiser's revenue or landing URL).
        g.MapGet("/", async (Caller caller, NpgsqlDataSource db, [FromQuery(Name = "advertiser_id")] long? advertiserId, string? status) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await LoadManyAsync(conn, caller, "(@advertiserId::bigint IS NULL OR o.advertiser_id = @advertiserId) AND (@status::text IS NULL OR o.status = @status)",
                new { advertiserId, status });
        });

        g.MapGet("/{id:long}", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await Load(conn, caller, id) ?? throw ApiException.NotFound("Offer");
        });

        // Partial update: fields left out keep their value; "" clears fallback_url, 0 clears a cap.
        g.MapPatch("/{id:long}", async (long id, OfferInput? body, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await UpdateAsync(conn, caller, network, id, Validate.Body(body));
        });

        g.MapPut("/{id:long}/goals/{code}", async (long id, string code, GoalInput? body, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await UpsertGoalAsync(conn, caller, network, id, code, Validate.Body(body));
        });
    }

    /// A new offer with its goals (admins).
    public static async Task<OfferView> CreateAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, OfferInput body)
    {
        caller.RequireAdmin();
        var o = Normalize(body, current: null);
        await using var tx = await conn.BeginTransactionAsync();
        if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM advertisers WHERE id = @id", new { id = o.AdvertiserId }, tx) == 0)
            throw ApiException.Invalid("advertiser_id", "does not name an existing advertiser");
        var id = await conn.ExecuteScalarAsync<long>("""
            INSERT INTO offers (advertiser_id, name, status, landing_url, fallback_url, currency, attribution_window_hours,
                hold_period_hours, manual_approval, default_goal, daily_click_cap, monthly_click_cap, daily_conversion_cap,
                monthly_conversion_cap, allowed_countries, pixel_auto_approve, visibility, description, deep_link_domains, deep_link_template)
            VALUES (@AdvertiserId, @Name, @Status, @LandingUrl, @FallbackUrl, @Currency, @AttributionWindowHours,
                @HoldPeriodHours, @ManualApproval, @DefaultGoal, @DailyClickCap, @MonthlyClickCap, @DailyConversionCap,
                @MonthlyConversionCap, @AllowedCountries, @PixelAutoApprove, @Visibility, @Description, @DeepLinkDomains, @DeepLinkTemplate)
            RETURNING id
            """, o, tx);
        foreach (var goal in o.Goals) await UpsertGoal(conn, tx, id, goal);
        await tx.CommitAsync();
        await network.ChangedAsync();
        return (await Load(conn, caller, id))!;
    }

    /// Partial update: fields left out keep their value; "" clears fallback_url, 0 clears a cap (admins).
    public static async Task<OfferView> UpdateAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, long id, OfferInput body)
    {
        caller.RequireAdmin();
        if (body.Goals is not null) throw ApiException.Invalid("goals", "are changed through PUT /api/v1/offers/{id}/goals/{code}");
        if (body.AdvertiserId is not null) throw ApiException.Invalid("advertiser_id", "cannot be changed");
        var current = await Load(conn, caller, id) ?? throw ApiException.NotFound("Offer");
        var o = Normalize(body, current);
        var rows = await conn.ExecuteAsync("""
            UPDATE offers SET name = @Name, status = @Status, landing_url = @LandingUrl, fallback_url = @FallbackUrl,
                currency = @Currency, attribution_window_hours = @AttributionWindowHours, hold_period_hours = @HoldPeriodHours,
                manual_approval = @ManualApproval, default_goal = @DefaultGoal, daily_click_cap = @DailyClickCap,
                monthly_click_cap = @MonthlyClickCap, daily_conversion_cap = @DailyConversionCap,
                monthly_conversion_cap = @MonthlyConversionCap, allowed_countries = @AllowedCountries,
                pixel_auto_approve = @PixelAutoApprove, visibility = @Visibility, description = @Description,
                deep_link_domains = @DeepLinkDomains, deep_link_template = @DeepLinkTemplate, updated_at = now()
            WHERE id = @Id
            """, o with { Id = id });
        if (rows == 0) throw ApiException.NotFound("Offer");
        await network.ChangedAsync();
        return (await Load(conn, caller, id))!;
    }

    /// Adds a goal or replaces one (admins).
    public static async Task<OfferView> UpsertGoalAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, long id, string code, GoalInput body)
    {
        caller.RequireAdmin();
        var goal = NormalizeGoal(body with { Code = code }, "goal");
        await using var tx = await conn.BeginTransactionAsync();
        // Locks the offer row (PostgreSQL refuses FOR UPDATE together with count(*)).
        if (await conn.ExecuteScalarAsync<long?>("SELECT id FROM offers WHERE id = @id FOR UPDATE", new { id }, tx) is null)
            throw ApiException.NotFound("Offer");
        await UpsertGoal(conn, tx, id, goal);
        await tx.CommitAsync();
        await network.ChangedAsync();
        return (await Load(conn, caller, id))!;
    }

    // Admins see every offer, advertisers their own, publishers those they have been granted.
    // The catalog (AccessRequestApi) also lists active public offers to publishers, who may ask to run them.
    private static string Scope(Caller caller, bool withPublic = false) => caller.Scope("o.advertiser_id",
        publisherCondition: "(EXISTS (SELECT 1 FROM offer_access a WHERE a.offer_id = o.id AND a.publisher_id = @callerPublisher)"
            + (withPublic ? " OR (o.visibility = 'public' AND o.status = 'active'))" : ")"));

    public static async Task<OfferView?> Load(NpgsqlConnection conn, Caller caller, long id) =>
        (await LoadManyAsync(conn, caller, "o.id = @id", new { id })).SingleOrDefault();

    // Two queries however many offers: the offers the caller may see, then all their goals with the caller's payout.
    public static async Task<List<OfferView>> LoadManyAsync(NpgsqlConnection conn, Caller caller, string where, object args, bool withPublic = false)
    {
        var parameters = new DynamicParameters(args);
        parameters.Add("callerAdvertiser", caller.AdvertiserId);
        parameters.Add("callerPublisher", caller.PublisherId);
        var offers = (await conn.QueryAsync<OfferView>($"SELECT o.* FROM offers o WHERE {where} AND {Scope(caller, withPublic)} ORDER BY o.id", parameters)).ToList();
        if (offers.Count == 0) return offers;
        var goals = (await conn.QueryAsync<GoalView>("""
            SELECT g.offer_id, g.code, g.name, coalesce(p.payout_type, g.payout_type) AS payout_type, coalesce(p.payout, g.payout) AS payout,
                   g.revenue_type, g.revenue, g.once_per_click, g.max_amount, g.pixel_amount
            FROM goals g
            LEFT JOIN payout_overrides p ON p.offer_id = g.offer_id AND p.goal_code = g.code AND p.publisher_id = @callerPublisher
            WHERE g.offer_id = ANY(@ids) ORDER BY g.offer_id, g.code
            """, new { ids = offers.Select(o => o.Id).ToArray(), callerPublisher = caller.PublisherId })).ToLookup(g => g.OfferId);
        foreach (var offer in offers)
        {
            offer.Goals = goals[offer.Id].ToList();
            if (caller.IsPublisher) HideAdvertisersTerms(offer);
        }
        return offers;
    }

    // What the network earns and where the advertiser lands traffic are not the publisher's business, nor the
    // bounds on pixel amounts: knowing them is knowing how much a forged pixel could claim.
    private static void HideAdvertisersTerms(OfferView offer)
    {
        offer.AdvertiserId = null;
        offer.LandingUrl = null;
        offer.FallbackUrl = null;
        offer.DeepLinkTemplate = null;
        foreach (var goal in offer.Goals) { goal.Revenue = null; goal.RevenueType = null; goal.MaxAmount = null; goal.PixelAmount = null; }
    }

    private sealed record NormalizedOffer(
        long Id, long AdvertiserId, string Name, string Status, string LandingUrl, string? FallbackUrl, string Currency,
        int AttributionWindowHours, int HoldPeriodHours, bool ManualApproval, string DefaultGoal,
        int? DailyClickCap, int? MonthlyClickCap, int? DailyConversionCap, int? MonthlyConversionCap,
        string[] AllowedCountries, List<GoalView> Goals, bool PixelAutoApprove, string Visibility, string Description,
        string[] DeepLinkDomains, string? DeepLinkTemplate);

    private static NormalizedOffer Normalize(OfferInput b, OfferView? current)
    {
        var goals = current is null
            ? (b.Goals is { Length: > 0 } ? b.Goals.Select((g, i) => NormalizeGoal(g, $"goals[{i}]")).ToList()
                : throw ApiException.Invalid("goals", "must hold at least one goal"))
            : current.Goals;
        if (goals.Select(g => g.Code).Distinct().Count() != goals.Count) throw ApiException.Invalid("goals", "must have distinct codes");
        var defaultGoal = b.DefaultGoal ?? current?.DefaultGoal ?? goals[0].Code;
        if (goals.All(g => g.Code != defaultGoal)) throw ApiException.Invalid("default_goal", "must be the code of one of the offer's goals");
        return new NormalizedOffer(
            current?.Id ?? 0,
            current is null ? Validate.Id(b.AdvertiserId, "advertiser_id") : current.AdvertiserId!.Value,
            b.Name is not null || current is null ? Validate.Name(b.Name) : current.Name,
            Validate.OneOf(b.Status ?? current?.Status ?? "active", "status", "active", "paused"),
            b.LandingUrl is not null || current is null ? LandingUrlRules.Validated(b.LandingUrl, "landing_url") : current.LandingUrl!,
            b.FallbackUrl is not null ? LandingUrlRules.ValidatedOrNone(b.FallbackUrl, "fallback_url") : current?.FallbackUrl,
            Validate.Currency(b.Currency ?? current?.Currency ?? "USD"),
            Validate.Range(b.AttributionWindowHours ?? current?.AttributionWindowHours ?? 720, "attribution_window_hours", 1, 8760),
            Validate.Range(b.HoldPeriodHours ?? current?.HoldPeriodHours ?? 720, "hold_period_hours", 0, 8760),
            b.ManualApproval ?? current?.ManualApproval ?? false,
            defaultGoal,
            b.DailyClickCap is not null ? Validate.Cap(b.DailyClickCap, "daily_click_cap") : current?.DailyClickCap,
            b.MonthlyClickCap is not null ? Validate.Cap(b.MonthlyClickCap, "monthly_click_cap") : current?.MonthlyClickCap,
            b.DailyConversionCap is not null ? Validate.Cap(b.DailyConversionCap, "daily_conversion_cap") : current?.DailyConversionCap,
            b.MonthlyConversionCap is not null ? Validate.Cap(b.MonthlyConversionCap, "monthly_conversion_cap") : current?.MonthlyConversionCap,
            b.AllowedCountries is not null ? Validate.Countries(b.AllowedCountries) : current?.AllowedCountries ?? [],
            goals,
            b.PixelAutoApprove ?? current?.PixelAutoApprove ?? false,
            Validate.OneOf(b.Visibility ?? current?.Visibility ?? "private", "visibility", "public", "private"),
            b.Description is not null ? Validate.Text(b.Description, "description", 4000) : current?.Description ?? "",
            b.DeepLinkDomains is not null ? DeepLinkRules.ValidatedDomains(b.DeepLinkDomains) : current?.DeepLinkDomains ?? [],
            // "" clears it, like fallback_url.
            b.DeepLinkTemplate is not null ? DeepLinkRules.ValidatedTemplate(b.DeepLinkTemplate) : current?.DeepLinkTemplate);
    }

    private static GoalView NormalizeGoal(GoalInput? g, string field)
    {
        if (g is null) throw ApiException.Invalid(field, "must be an object");
        var payoutType = Validate.OneOf(g.PayoutType, $"{field}.payout_type", "fixed", "percent");
        var revenueType = Validate.OneOf(g.RevenueType ?? payoutType, $"{field}.revenue_type", "fixed", "percent");
        return new GoalView
        {
            Code = Validate.GoalCode(g.Code, $"{field}.code"),
            Name = g.Name is null ? g.Code! : Validate.Name(g.Name, $"{field}.name"),
            PayoutType = payoutType,
            Payout = PayoutAmount(payoutType, g.Payout, $"{field}.payout"),
            RevenueType = revenueType,
            Revenue = PayoutAmount(revenueType, g.Revenue ?? g.Payout, $"{field}.revenue"),
            OncePerClick = g.OncePerClick ?? true,
            MaxAmount = g.MaxAmount is { } max ? Validate.Money(max, $"{field}.max_amount", MoneyText.Max) : null,
            PixelAmount = g.PixelAmount is { } fixedAmount ? Validate.Money(fixedAmount, $"{field}.pixel_amount", MoneyText.Max) : null,
        };
    }

    // A percent is of the sale amount, so at most 100; a fixed amount is money.
    internal static decimal PayoutAmount(string type, decimal? value, string field)
    {
        if (value is null) throw ApiException.Invalid(field, "is required");
        return type == "percent" ? Validate.Money(value.Value, field, 100m) : Validate.Money(value.Value, field);
    }

    private static Task UpsertGoal(NpgsqlConnection conn, NpgsqlTransaction tx, long offerId, GoalView g) =>
        conn.ExecuteAsync("""
            INSERT INTO goals (offer_id, code, name, payout_type, payout, revenue_type, revenue, once_per_click, max_amount, pixel_amount)
            VALUES (@offerId, @Code, @Name, @PayoutType, @Payout, @RevenueType, @Revenue, @OncePerClick, @MaxAmount, @PixelAmount)
            ON CONFLICT (offer_id, code) DO UPDATE SET name = excluded.name, payout_type = excluded.payout_type,
                payout = excluded.payout, revenue_type = excluded.revenue_type, revenue = excluded.revenue,
                once_per_click = excluded.once_per_click, max_amount = excluded.max_amount, pixel_amount = excluded.pixel_amount
            """, new { offerId, g.Code, g.Name, g.PayoutType, g.Payout, g.RevenueType, g.Revenue, g.OncePerClick, g.MaxAmount, g.PixelAmount }, tx);
}
