using AffiliateTracker;
using AffiliateTracker.Access;
using AffiliateTracker.Clicks;
using AffiliateTracker.Console;
using AffiliateTracker.Console.Account;
using AffiliateTracker.Conversions;
using AffiliateTracker.Creatives;
using AffiliateTracker.Demo;
using AffiliateTracker.Docs;
using AffiliateTracker.Health;
using AffiliateTracker.Http;
using AffiliateTracker.Observability;
using AffiliateTracker.Network;
using AffiliateTracker.Payouts;
using AffiliateTracker.ProductFeeds;
using AffiliateTracker.PublisherPostbacks;
using AffiliateTracker.Reconciliation;
using AffiliateTracker.Reports;
using AffiliateTracker.Storage;

// appsettings.json sits beside the binary: the server reads it (production log levels, the JSON log
// format) whatever directory it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// `AffiliateTracker ledger-check`: verify the money invariants against the configured database and exit.
if (args is ["ledger-check", ..]) return await LedgerCheckCommand.RunAsync(builder.Configuration);
// `AffiliateTracker add-user EMAIL ROLE [OWNER_ID]`: a console user (the first admin of a new network), then exit.
if (args is ["add-user", ..]) return await AddUserCommand.RunAsync(builder.Configuration, args);

// 4xx answers are expected and not errors; ErrorHandling logs the real failures (5xx) itself.
builder.Logging.AddFilter("Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", LogLevel.None);
// The framework's "Request starting/finished" lines print the whole URL, and a postback's query string holds
// the advertiser's token: off whatever level is configured, so secrets stay out of the logs. Off, not
// Warning: while the category is enabled at all, the host also starts an Activity and a log scope for
// every request, which cost the redirect measurably (benchmarks/README.md).
builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
// No "Server: Kestrel" header: it tells visitors nothing they need and costs every redirect a header.
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
builder.Services.AddTrustedProxies(builder.Configuration);
builder.Services.AddStorage(builder.Configuration);
builder.Services.AddHealth(builder.Configuration);
builder.Services.AddTelemetry(builder.Configuration);
builder.Services.AddNetworkConfiguration(builder.Configuration);
builder.Services.AddClickTracking(builder.Configuration);
builder.Services.AddConversions(builder.Configuration);
builder.Services.AddPublisherPostbacks(builder.Configuration);
builder.Services.AddProductFeeds(builder.Configuration);
builder.Services.AddPayouts();
builder.Services.AddReconciliation();
builder.Services.AddManagementApi();
builder.Services.AddApiReference();
builder.Services.AddRateLimits(builder.Configuration);
builder.Services.AddDemo(builder.Configuration);
// People sign in to the web console (Console/); machines use the API with keys.
builder.Services.AddConsole(builder.Configuration);

var app = builder.Build();
app.UseResponseHardening();
app.UseTrustedProxies();
// Tracking links and postbacks are answered here, before the error handlers, routing and the API's middleware, and
// answer their own failures (Clicks/ClickEndpoints.cs, Conversions/PostbackEndpoints.cs).
app.UseClickFastPath();
app.UsePostbackFastPath();
app.UseJsonErrors();
app.UseRouting();
// The rate limiter comes after authentication (a valid key has its own budget) and before authorization
// (a caller over the per-address budget gets 429 rather than another 401); it limits only endpoints that
// ask for it (the API; postbacks take theirs in PostbackReceiver). Only /api paths look at keys (ApiKeyAuthenticationHandler).
app.UseAuthentication();
app.UseRateLimiter();
app.UseAuthorization();

app.MapClicks();
app.MapPostbacks();
var api = app.MapManagementApi();
api.MapNetworkApi();
api.MapCreatives();
api.MapProductFeeds();
api.MapConversionsApi();
api.MapPublisherPostbackApi();
api.MapPayoutApi();
api.MapReconciliationApi();
api.MapReportsApi();
api.MapUserApi();
// Creatives' images are public: publishers embed them in their own pages.
app.MapCreativeImages();
app.MapHealth();
app.MapMetrics();
// The OpenAPI document and its reader at /docs describe the public contract and the API's shape, nothing secret.
app.MapApiReference();
if (app.Services.DemoEnabled()) app.MapDemoShop();
app.MapConsole();

await app.PrepareAsync();
app.Run();
return 0;

public partial class Program;
