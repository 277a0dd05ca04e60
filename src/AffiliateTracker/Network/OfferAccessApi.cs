using AffiliateTracker.Access;
using System.Text.Json.Serialization;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Network;

public sealed record PayoutOverrideInput(string? Goal, string? PayoutType, [property: JsonConverter(typeof(MoneyJsonConverter))] decimal? Payout);
public sealed record AccessInput(int? DailyClickCap, int? MonthlyClickCap, int? DailyConversionCap, int? MonthlyConversionCap,
    PayoutOverrideInput[]? PayoutOverrides);

/// Which publishers may run an offer: a grant with optional caps of their own and payout overrides per goal.
/// A publisher without a grant is sent to the offer's fallback.
public static class OfferAccessApi
{
    public static void MapOfferAccess(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/offers").WithTags("Offers");

        // Grants a publisher access to an offer (with optional caps and payout overrides), replacing any earlier grant.
        g.MapPut("/{id:long}/publishers/{publisherId:long}", async (long id, long publisherId, AccessInput? body, Caller caller,
            NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return Results.Ok(await GrantAsync(conn, caller, network, id, publisherId, body));
        });

        g.MapGet("/{id:long}/publishers", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await GrantsAsync(conn, caller, id);
        });

        g.MapDelete("/{id:long}/publishers/{publisherId:long}", async (long id, long publisherId, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            await RevokeAsync(conn, caller, network, id, publisherId);
            return Results.NoContent();
        });
    }

    public sealed record GrantView(long PublisherId, string PublisherName, int? DailyClickCap, int? MonthlyClickCap, int? DailyConversionCap,
        int? MonthlyConversionCap, GrantOverride[] PayoutOverrides, DateTime CreatedAt);
    public sealed record GrantOverride(string Goal, string PayoutType, decimal Payout);

    /// Grants a publisher access to an offer (with optional caps and payout overrides), replacing any earlier grant (admins).
    public static async Task<GrantView> GrantAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, long id, long publisherId, AccessInput? body)
    {
        caller.RequireAdmin();
        body ??= new AccessInput(null, null, null, null, null);
        var caps = new
        {
            id, publisherId,
            daily = Validate.Cap(body.DailyClickCap, "daily_click_cap"), monthly = Validate.Cap(body.MonthlyClickCap, "monthly_click_cap"),
            dailyConv = Validate.Cap(body.DailyConversionCap, "daily_conversion_cap"),
            monthlyConv = Validate.Cap(body.MonthlyConversionCap, "monthly_conversion_cap"),
        };
        var overrides = (body.PayoutOverrides ?? []).Select(p => p ?? throw ApiException.Invalid("payout_overrides", "must hold objects")).Select(p => (
            Goal: Validate.GoalCode(p.Goal, "payout_overrides.goal"),
            Type: Validate.OneOf(p.PayoutType, "payout_overrides.payout_type", "fixed", "percent"),
            Payout: OfferApi.PayoutAmount(p.PayoutType!, p.Payout, "payout_overrides.payout"))).ToList();

        await using var tx = await conn.BeginTransactionAsync();
        var offer = await conn.QuerySingleOrDefaultAsync<long?>("SELECT id FROM offers WHERE id = @id", new { id }, tx)
            ?? throw ApiException.NotFound("Offer");
        if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM publishers WHERE id = @publisherId", new { publisherId }, tx) == 0)
            throw ApiException.NotFound("Publisher");
        var goals = (await conn.QueryAsync<string>("SELECT code FROM goals WHERE offer_id = @id", new { id }, tx)).ToHashSet();
        foreach (var o in overrides)
            if (!goals.Contains(o.Goal)) throw ApiException.Invalid("payout_overrides.goal", $"'{o.Goal}' is not a goal of this offer");
        await conn.ExecuteAsync("""
            INSERT INTO offer_access (offer_id, publisher_id, daily_click_cap, monthly_click_cap, daily_conversion_cap, monthly_conversion_cap)
            VALUES (@id, @publisherId, @daily, @monthly, @dailyConv, @monthlyConv)
            ON CONFLICT (offer_id, publisher_id) DO UPDATE SET daily_click_cap = excluded.daily_click_cap,
                monthly_click_cap = excluded.monthly_click_cap, daily_conversion_cap = excluded.daily_conversion_cap,
                monthly_conversion_cap = excluded.monthly_conversion_cap
            """, caps, tx);
        await conn.ExecuteAsync("DELETE FROM payout_overrides WHERE offer_id = @id AND publisher_id = @publisherId", new { id, publisherId }, tx);
        foreach (var o in overrides)
            await conn.ExecuteAsync("""
                INSERT INTO payout_overrides (offer_id, publisher_id, goal_code, payout_type, payout)
                VALUES (@id, @publisherId, @goal, @type, @payout)
                """, new { id, publisherId, goal = o.Goal, type = o.Type, payout = o.Payout }, tx);
        await tx.CommitAsync();
        await network.ChangedAsync();
        return (await GrantsAsync(conn, caller, id)).Single(g => g.PublisherId == publisherId);
    }

    public static async Task RevokeAsync(NpgsqlConnection conn, Caller caller, NetworkCache network, long id, long publisherId)
    {
        caller.RequireAdmin();
        var rows = await conn.ExecuteAsync("DELETE FROM offer_access WHERE offer_id = @id AND publisher_id = @publisherId", new { id, publisherId });
        if (rows == 0) throw ApiException.NotFound("Access grant");
        await network.ChangedAsync();
    }

    /// Who may run an offer, with their caps and payout overrides (admins).
    public static async Task<List<GrantView>> GrantsAsync(NpgsqlConnection conn, Caller caller, long id)
    {
        caller.RequireAdmin();
        var grants = await conn.QueryAsync<(long PublisherId, string PublisherName, int? Daily, int? Monthly, int? DailyConv, int? MonthlyConv, DateTime CreatedAt)>("""
            SELECT a.publisher_id, p.name, a.daily_click_cap, a.monthly_click_cap, a.daily_conversion_cap, a.monthly_conversion_cap, a.created_at
            FROM offer_access a JOIN publishers p ON p.id = a.publisher_id WHERE a.offer_id = @id ORDER BY a.publisher_id
            """, new { id });
        var overrides = (await conn.QueryAsync<(long PublisherId, string Goal, string PayoutType, decimal Payout)>(
            "SELECT publisher_id, goal_code, payout_type, payout FROM payout_overrides WHERE offer_id = @id ORDER BY goal_code", new { id }))
            .ToLookup(o => o.PublisherId);
        return grants.Select(g => new GrantView(g.PublisherId, g.PublisherName, g.Daily, g.Monthly, g.DailyConv, g.MonthlyConv,
            overrides[g.PublisherId].Select(o => new GrantOverride(o.Goal, o.PayoutType, o.Payout)).ToArray(), g.CreatedAt)).ToList();
    }
}
