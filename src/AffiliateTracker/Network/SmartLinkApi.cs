using AffiliateTracker.Access;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.Network;

public sealed record SmartLinkInput(long? PublisherId, string? Name, string? Status, SmartRuleInput[]? Rules, string? FallbackUrl);

public sealed class SmartLinkView
{
    public long Id { get; init; }
    public string Code { get; init; } = "";
    public long PublisherId { get; init; }
    public string Name { get; init; } = "";
    public string Status { get; init; } = "";
    public SmartRuleInput[] Rules { get; set; } = [];
    public string FallbackUrl { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    /// The URL a publisher pastes: /s/{code}, taking sub1..sub5, source and url= like a tracking link.
    public string TrackingUrl { get; set; } = "";
}

/// /api/v1/smart-links: a publisher's link that picks an offer per click by ordered rules (country, device type,
/// OS, weights), skipping offers that cannot take the click; what no rule takes goes to the fallback URL.
public static class SmartLinkApi
{
    public static void MapSmartLinks(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/smart-links").WithTags("Smart links");

        g.MapPost("/", async (SmartLinkInput? body, Caller caller, PublicBaseUrl publicUrl, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var view = await CreateAsync(conn, caller, Validate.Body(body), publicUrl, network);
            return Results.Created($"/api/v1/smart-links/{view.Id}", view);
        }).WithSummary("Create a smart link (publishers for themselves, admins for any publisher)");

        g.MapGet("/", async (Caller caller, PublicBaseUrl publicUrl, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller, publicUrl);
        });

        g.MapGet("/{id:long}", async (long id, Caller caller, PublicBaseUrl publicUrl, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return WithUrl(await FindAsync(conn, caller, id), publicUrl);
        });

        g.MapPatch("/{id:long}", async (long id, SmartLinkInput? body, Caller caller, PublicBaseUrl publicUrl, NpgsqlDataSource db, NetworkCache network) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await UpdateAsync(conn, caller, id, Validate.Body(body), publicUrl, network);
        }).WithSummary("Change a smart link's name, status, rules or fallback (fields left out keep their value)");
    }

    private const string Columns = "id, code, publisher_id, name, status, rules::text AS rules_json, fallback_url, created_at, updated_at";

    public static async Task<SmartLinkView> CreateAsync(NpgsqlConnection conn, Caller caller, SmartLinkInput body, PublicBaseUrl publicUrl, NetworkCache network)
    {
        var publisherId = LinkApi.PublisherFor(caller, body.PublisherId, "smart links");
        if (await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM publishers WHERE id = @publisherId", new { publisherId }) == 0)
            throw ApiException.Invalid("publisher_id", "does not name an existing publisher");
        var rules = await CheckedRulesAsync(conn, body.Rules, publisherId);
        var row = await conn.QuerySingleAsync<Row>($"""
            INSERT INTO smart_links (code, publisher_id, name, status, rules, fallback_url)
            VALUES (@code, @publisherId, @name, @status, @rules::jsonb, @fallback) RETURNING {Columns}
            """, new
        {
            code = LinkApi.NewCode(), publisherId, name = Validate.Name(body.Name),
            status = Validate.OneOf(body.Status ?? "active", "status", "active", "disabled"),
            rules = SmartLinkRules.ToJson(rules), fallback = LandingUrlRules.Validated(body.FallbackUrl, "fallback_url"),
        });
        await network.ChangedAsync();
        return WithUrl(row.View(), publicUrl);
    }

    public static async Task<SmartLinkView> UpdateAsync(NpgsqlConnection conn, Caller caller, long id, SmartLinkInput body, PublicBaseUrl publicUrl, NetworkCache network)
    {
        var current = await FindAsync(conn, caller, id);
        if (body.PublisherId is not null && body.PublisherId != current.PublisherId) throw ApiException.Invalid("publisher_id", "cannot be changed");
        var rules = body.Rules is null ? current.Rules : await CheckedRulesAsync(conn, body.Rules, current.PublisherId);
        var row = await conn.QuerySingleAsync<Row>($"""
            UPDATE smart_links SET name = @name, status = @status, rules = @rules::jsonb, fallback_url = @fallback, updated_at = now()
            WHERE id = @id RETURNING {Columns}
            """, new
        {
            id,
            name = body.Name is null ? current.Name : Validate.Name(body.Name),
            status = Validate.OneOf(body.Status ?? current.Status, "status", "active", "disabled"),
            rules = SmartLinkRules.ToJson(rules),
            fallback = body.FallbackUrl is null ? current.FallbackUrl : LandingUrlRules.Validated(body.FallbackUrl, "fallback_url"),
        });
        await network.ChangedAsync();
        return WithUrl(row.View(), publicUrl);
    }

    public static async Task<List<SmartLinkView>> ListAsync(NpgsqlConnection conn, Caller caller, PublicBaseUrl publicUrl)
    {
        if (!caller.IsAdmin && caller.PublisherId is null) throw ApiException.Forbidden("Smart links are for admins and publishers.");
        var rows = await conn.QueryAsync<Row>($"SELECT {Columns} FROM smart_links WHERE {caller.Scope(null, "publisher_id")} ORDER BY id",
            new { callerPublisher = caller.PublisherId });
        return rows.Select(r => WithUrl(r.View(), publicUrl)).ToList();
    }

    // Another publisher's smart link answers 404, exactly like one that does not exist.
    public static async Task<SmartLinkView> FindAsync(NpgsqlConnection conn, Caller caller, long id)
    {
        var row = await conn.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM smart_links WHERE id = @id", new { id });
        return row is not null && (caller.IsAdmin || caller.PublisherId == row.PublisherId) ? row.View() : throw ApiException.NotFound("Smart link");
    }

    // Every offer a rule names must be one the publisher runs today; one that is paused, capped or revoked later is
    // skipped per click instead.
    private static async Task<SmartRuleInput[]> CheckedRulesAsync(NpgsqlConnection conn, SmartRuleInput[]? input, long publisherId)
    {
        var rules = SmartLinkRules.Validated(input);
        var granted = (await conn.QueryAsync<long>("SELECT offer_id FROM offer_access WHERE publisher_id = @publisherId", new { publisherId })).ToHashSet();
        for (var i = 0; i < rules.Length; i++)
            for (var j = 0; j < rules[i].Offers!.Length; j++)
                if (!granted.Contains(rules[i].Offers![j].OfferId!.Value))
                    throw ApiException.Invalid($"rules[{i}].offers[{j}].offer_id", "is not an offer this publisher has access to");
        return rules;
    }

    private static SmartLinkView WithUrl(SmartLinkView view, PublicBaseUrl publicUrl)
    {
        view.TrackingUrl = publicUrl.SmartLink(view.Code);
        return view;
    }

    private sealed class Row
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public long PublisherId { get; init; }
        public string Name { get; init; } = "";
        public string Status { get; init; } = "";
        public string RulesJson { get; init; } = "[]";
        public string FallbackUrl { get; init; } = "";
        public DateTime CreatedAt { get; init; }
        public DateTime UpdatedAt { get; init; }

        public SmartLinkView View() => new()
        {
            Id = Id, Code = Code, PublisherId = PublisherId, Name = Name, Status = Status, Rules = SmartLinkRules.FromJson(RulesJson),
            FallbackUrl = FallbackUrl, CreatedAt = CreatedAt, UpdatedAt = UpdatedAt,
        };
    }
}
