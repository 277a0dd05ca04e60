using AffiliateTracker;
using AffiliateTracker.Api;
using AffiliateTracker.Clicks;
using AffiliateTracker.Demo;
using AffiliateTracker.Health;
using AffiliateTracker.Http;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddStorage(builder.Configuration);
builder.Services.AddNetworkConfiguration();
builder.Services.AddClickTracking(builder.Configuration);
builder.Services.AddManagementApi();
builder.Services.AddDemo(builder.Configuration);

var app = builder.Build();
app.UseJsonErrors();
app.UseAuthentication();
app.UseAuthorization();

app.MapClicks();
app.MapManagementApi();
app.MapHealth();
app.MapOpenApi();
if (app.Services.DemoEnabled()) app.MapDemoShop();

await app.PrepareAsync();
app.Run();

public partial class Program;
