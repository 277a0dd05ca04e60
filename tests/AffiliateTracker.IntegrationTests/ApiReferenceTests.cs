using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AffiliateTracker.IntegrationTests;

public sealed class ApiReferenceTests(TrackerApp app) : IClassFixture<TrackerApp>
{
    [Fact]
    public async Task The_reference_at_docs_is_served_from_this_server_over_the_openapi_document()
    {
        var page = await app.Browser().GetAsync("/docs/");
        var html = await page.Content.ReadAsStringAsync();
        var script = await app.Browser().GetAsync("/docs/scalar.js");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("openapi/v1.json", html);
        Assert.DoesNotContain("cdn.", html);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    [Theory]
    [InlineData("/postback", "get", "click_id")]
    [InlineData("/pixel", "get", "sig")]
    [InlineData("/c/{code}", "get", "sub1")]
    public async Task The_wire_contract_has_example_parameters(string path, string method, string parameter)
    {
        var doc = (await app.Browser().GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        var parameters = doc["paths"]![path]![method]!["parameters"]!.AsArray();

        Assert.Contains(parameters, p => p!["name"]!.GetValue<string>() == parameter && p["example"] is not null);
    }

    [Theory]
    [InlineData("/api/v1/offers", "landing_url")]
    [InlineData("/api/v1/publishers", "min_payout")]
    [InlineData("/api/v1/advertisers", "name")]
    [InlineData("/api/v1/links", "offer_id")]
    [InlineData("/api/v1/payout-runs", "period_end")]
    public async Task Each_management_area_has_an_example_request(string path, string field)
    {
        var doc = (await app.Browser().GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        var example = doc["paths"]![path]!["post"]!["requestBody"]!["content"]!["application/json"]!["example"];

        Assert.NotNull(example?[field]);
    }
}
