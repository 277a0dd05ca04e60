using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace AffiliateTracker.Docs;

/// The API reference for people: the OpenAPI document at /openapi/v1.json and Scalar's reader of it at /docs
/// (its script is served from the package, no CDN). Each area of the API gets an example request here, so the
/// reference shows a working call, not only a schema. `OpenApi:Enabled=false` serves neither.
public static class ApiReference
{
    public static IServiceCollection AddApiReference(this IServiceCollection services) =>
        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((doc, _, _) =>
            {
                doc.Info.Title = "AffiliateTracker API";
                doc.Info.Description = "Management API (send an API key as `Authorization: Bearer KEY`), and the public wire contract: "
                    + "tracking links, the server-to-server postback and the conversion pixel. README.md has the whole story.";
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                var route = $"{context.Description.HttpMethod} /{context.Description.RelativePath?.Split('?')[0].TrimEnd('/')}";
                if (QueryExamples.TryGetValue(route, out var query)) AddQueryExamples(operation, query);
                if (BodyExamples.TryGetValue(route, out var body) && operation.RequestBody?.Content is { } content)
                    foreach (var media in content.Values) media.Example = JsonNode.Parse(body);
                return Task.CompletedTask;
            });
        });

    public static void MapApiReference(this WebApplication app)
    {
        if (!app.Configuration.GetValue("OpenApi:Enabled", true)) return;
        app.MapOpenApi();
        app.MapScalarApiReference("/docs", o => o
            .WithTitle("AffiliateTracker API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")
            // Served from this server alone: no fonts from a CDN, and none of Scalar's own hosted services
            // (its AI agent, SDK generator, deploy buttons) or telemetry.
            .DisableDefaultFonts()
            .DisableAgent()
            .DisableTelemetry()
            .DisableMcp()
            .HideDeveloperTools()
            .AddPreferredSecuritySchemes("Bearer"));
    }

    // Parameters read straight from the query string (the wire contract's names), with a value that works on the demo network.
    private static readonly Dictionary<string, (string Name, string Example, string Description)[]> QueryExamples = new()
    {
        ["GET /postback"] =
        [
            ("click_id", "01M8ZGSFXS854N8PJN2EF4EYZN", "our click id (also transaction_id, clickid, cid, subid)"),
            ("txid", "order-1", "the advertiser's order id"),
            ("amount", "120.00", "sale amount, for percentage goals"),
            ("goal", "sale", "goal code; the offer's default goal when left out"),
            ("status", "approved", "approved or rejected on a later postback with the same txid"),
            ("token", "demo-postback-token", "the advertiser's postback token (or an X-Signature header)"),
        ],
        ["GET /pixel"] =
        [
            ("offer_id", "1", "the offer (the click id comes from the click cookie)"),
            ("txid", "order-1", "the order id"),
            ("amount", "120.00", "sale amount: bounded by the goal, and waiting for the advertiser's confirmation unless signed"),
            ("expires", "1798761600", "signed pixels: Unix seconds until which sig is good"),
            ("sig", "9f2c...", "signed pixels: HMAC-SHA256 hex over pixel\\n{offer_id}\\n{goal}\\n{txid}\\n{amount}\\n{expires}"),
        ],
        ["GET /c/{code}"] =
        [
            ("sub1", "spring-post", "sub-ids sub1..sub5: where the publisher placed the link"),
            ("source", "newsletter", "traffic source"),
        ],
        ["GET /click"] =
        [
            ("offer_id", "1", "the offer"),
            ("aff_id", "1", "the publisher"),
            ("sub1", "spring-post", "sub-ids sub1..sub5"),
        ],
    };

    private static readonly Dictionary<string, string> BodyExamples = new()
    {
        ["POST /api/v1/advertisers"] = """{ "name": "Shoe Shop Ltd", "postback_ips": ["203.0.113.10"] }""",
        ["POST /api/v1/publishers"] = """{ "name": "Alice's Blog", "min_payout": 50.00, "postback_url": "https://alice.example/pb?click={sub1}&payout={payout}&status={status}" }""",
        ["POST /api/v1/offers"] = """
            { "advertiser_id": 1, "name": "Sneakers (10% of sale)", "landing_url": "https://shop.example/sneakers?click_id={click_id}&sub1={sub1}",
              "fallback_url": "https://shop.example/", "currency": "USD", "hold_period_hours": 720, "allowed_countries": ["US", "CA"],
              "goals": [ { "code": "sale", "name": "Sale", "payout_type": "percent", "payout": 10, "revenue_type": "percent", "revenue": 15,
                           "once_per_click": false, "max_amount": 2000.00 } ] }
            """,
        ["PUT /api/v1/offers/{id}/publishers/{publisherId}"] = """{ "daily_click_cap": 10000, "payout_overrides": [ { "goal": "sale", "payout_type": "percent", "payout": 12 } ] }""",
        ["POST /api/v1/links"] = """{ "offer_id": 1, "publisher_id": 1 }""",
        ["POST /api/v1/api-keys"] = """{ "role": "advertiser", "advertiser_id": 1, "name": "shop backend" }""",
        ["POST /api/v1/conversions/{id}/status"] = """{ "status": "approved", "reason": "order shipped" }""",
        ["PUT /api/v1/currency-rates/{from}/{to}"] = """{ "rate": 1.0850 }""",
        ["POST /api/v1/payout-runs"] = """{ "period_end": "2026-12-01T00:00:00Z" }""",
        ["POST /api/v1/payout-runs/{id}/lines/{lineId}/paid"] = """{ "payment_reference": "WIRE-2026-12-001" }""",
    };

    private static void AddQueryExamples(OpenApiOperation operation, (string Name, string Example, string Description)[] query)
    {
        operation.Parameters ??= [];
        foreach (var (name, example, description) in query)
        {
            if (operation.Parameters.Any(p => p.Name == name)) continue;
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = name, In = ParameterLocation.Query, Description = description, Example = JsonValue.Create(example),
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
        }
    }
}
