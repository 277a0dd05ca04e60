using AffiliateTracker.Conversions;
using AffiliateTracker.Http;
using AffiliateTracker.Payouts;
using AffiliateTracker.Reconciliation;
using AffiliateTracker.Reports;
using AffiliateTracker.PublisherPostbacks;
using Microsoft.AspNetCore.Authorization;

namespace AffiliateTracker.Api;

/// The management API under /api/v1: every route needs an API key; each handler scopes what it reads
/// and writes to the caller's role (admin: everything; advertiser: its offers; publisher: its links).
public static class ManagementApi
{
    public static void MapManagementApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1")
            .RequireAuthorization(new AuthorizationPolicyBuilder(ApiKeys.Scheme).RequireAuthenticatedUser().Build())
            .RequireRateLimiting(RateLimits.Management);
        api.MapGet("/me", (HttpContext http) => Caller.From(http.User)).WithTags("Account");
        api.MapAdvertisers();
        api.MapPublishers();
        api.MapOffers();
        api.MapLinks();
        api.MapApiKeyAdmin();
        api.MapClickStats();
        api.MapConversionApi();
        api.MapPostbackLogApi();
        api.MapPublisherPostbackApi();
        api.MapCurrencyRates();
        api.MapPayoutApi();
        api.MapReconciliationApi();
        api.MapReportApi();
    }
}
