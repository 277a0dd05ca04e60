using System.Security.Claims;
using AffiliateTracker.Http;

namespace AffiliateTracker.Access;

/// The three kinds of caller. An API key (and, later, a signed-in user) has exactly one.
public static class Roles
{
    public const string Admin = "admin", Advertiser = "advertiser", Publisher = "publisher";
    public static readonly string[] All = [Admin, Advertiser, Publisher];
}

/// Who is calling the management API: a role, and the advertiser or publisher it acts for.
public sealed record Caller(string Role, long? AdvertiserId, long? PublisherId)
{
    public bool IsAdmin => Role == Roles.Admin;
    public bool IsAdvertiser => Role == Roles.Advertiser;
    public bool IsPublisher => Role == Roles.Publisher;

    /// Who made a change, as the audit trail records it: "admin" or "advertiser:7".
    public string Actor => IsAdmin ? Roles.Admin : IsAdvertiser ? $"{Roles.Advertiser}:{AdvertiserId}" : $"{Roles.Publisher}:{PublisherId}";

    /// The one way a query is limited to what this caller may see: a SQL condition over the row's advertiser
    /// column and its publisher column (or, where a row has no such column, a condition on @callerAdvertiser or
    /// @callerPublisher); none given = that role sees nothing. The query passes those two parameters.
    public string Scope(string? advertiserColumn, string? publisherColumn = null, string? publisherCondition = null,
        string? advertiserCondition = null) => Role switch
    {
        Roles.Admin => "true",
        Roles.Advertiser => advertiserCondition ?? (advertiserColumn is null ? "false" : $"{advertiserColumn} = @callerAdvertiser"),
        _ => publisherCondition ?? (publisherColumn is null ? "false" : $"{publisherColumn} = @callerPublisher"),
    };

    // Bound for handlers after the authorization middleware has authenticated the key.
    public static ValueTask<Caller?> BindAsync(HttpContext http) => ValueTask.FromResult<Caller?>(From(http.User));

    public static Caller From(ClaimsPrincipal user) => new(
        user.FindFirstValue(ClaimTypes.Role) ?? throw ApiException.Forbidden(),
        long.TryParse(user.FindFirstValue("advertiser_id"), out var a) ? a : null,
        long.TryParse(user.FindFirstValue("publisher_id"), out var p) ? p : null);

    public void RequireAdmin()
    {
        if (!IsAdmin) throw ApiException.Forbidden("Only an admin key may do that.");
    }
}
