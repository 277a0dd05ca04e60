using System.Text.Json;
using AffiliateTracker.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace AffiliateTracker.Access;

/// The management API under /api/v1: every route needs an API key, and rate limits apply per key and per
/// address. Features add their endpoints to the group this returns; each handler scopes what it reads and
/// writes to the caller (Caller.cs).
public static class ManagementApi
{
    public static IServiceCollection AddManagementApi(this IServiceCollection services)
    {
        services.AddAuthentication(ApiKeys.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeys.Scheme, null);
        services.AddAuthorization();
        services.ConfigureHttpJsonOptions(o =>
        {
            // The wire contract's names: click_id, offer_id, landing_url ...
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        return services;
    }

    public static RouteGroupBuilder MapManagementApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1")
            .RequireAuthorization(new AuthorizationPolicyBuilder(ApiKeys.Scheme).RequireAuthenticatedUser().Build())
            .RequireRateLimiting(RateLimits.Management);
        api.MapGet("/me", (HttpContext http) => Caller.From(http.User)).WithTags("Account");
        api.MapApiKeyAdmin();
        api.MapOwnApiKeys();
        return api;
    }
}
