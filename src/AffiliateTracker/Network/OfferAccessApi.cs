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

            await using var conn = await db.OpenConnectionAsync();
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
            return Results.Ok(new { offer_id = id, publisher_id = publisherId, caps.daily, caps.monthly,
                payout_overrides = overrides.Select(o => new { goal = o.Goal, payout_type = o.Type, payout = o.Payout }) });
        });

        g.MapDelete("/{id:long}/publishers/{publisherId:long}", async (long id, long publisherId, Caller caller, NpgsqlDataSource db, NetworkCache network) =>
        {
            caller.RequireAdmin();
            await using var conn = await db.OpenConnectionAsync();
            var rows = await conn.ExecuteAsync("DELETE FROM offer_access WHERE offer_id = @id AND publisher_id = @publisherId", new { id, publisherId });
            if (rows == 0) throw ApiException.NotFound("Access grant");
            await network.ChangedAsync();
            return Results.NoContent();
        });
    }
}
