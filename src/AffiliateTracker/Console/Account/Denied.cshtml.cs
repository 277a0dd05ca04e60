namespace AffiliateTracker.Console.Account;

/// Signed in, but this page belongs to another role.
public sealed class DeniedModel : ConsolePage
{
    public void OnGet() => Response.StatusCode = 403;
}
