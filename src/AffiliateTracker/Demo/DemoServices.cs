using Microsoft.Extensions.Options;

namespace AffiliateTracker.Demo;

public static class DemoServices
{
    public static IServiceCollection AddDemo(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<DemoOptions>(config.GetSection("Demo"));
        services.AddSingleton<DemoSeeder>();
        services.AddSingleton<DemoHistory>();
        return services;
    }

    public static bool DemoEnabled(this IServiceProvider services) => services.GetRequiredService<IOptions<DemoOptions>>().Value.Enabled;
}
