namespace AffiliateTracker.Payouts;

public static class PayoutServices
{
    public static IServiceCollection AddPayouts(this IServiceCollection services)
    {
        services.AddSingleton<PayoutRuns>();
        return services;
    }
}
