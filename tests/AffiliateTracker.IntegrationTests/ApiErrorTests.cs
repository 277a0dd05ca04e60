using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace AffiliateTracker.IntegrationTests;

/// A management API body that is not JSON, or holds a value of the wrong type, gets an answer that says what
/// and where: not "the request failed with status 400".
public sealed class ApiErrorTests(TrackerApp app) : IClassFixture<TrackerApp>
{
    private async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string path, string json)
    {
        var admin = await app.AdminAsync();
        var r = await admin.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (r.StatusCode, (await r.Content.ReadFromJsonAsync<JsonObject>())!);
    }

    [Fact]
    public async Task Malformed_json_is_invalid_json_with_its_line_and_column()
    {
        var (status, body) = await PostAsync("/api/v1/publishers", "{\n  \"name\": \"x\",\n  \"min_payout\": 5,,\n}");

        Assert.Equal((HttpStatusCode.BadRequest, "invalid_json"), (status, body["error"]!.GetValue<string>()));
        Assert.Contains("line 3", body["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/api/v1/offers", """{"advertiser_id": "abc", "name": "x"}""", "advertiser_id")]
    [InlineData("/api/v1/payout-runs", """{"period_end": "the end of the month"}""", "period_end")]
    [InlineData("/api/v1/publishers", """{"name": "x", "min_payout": true}""", "min_payout")]
    public async Task A_value_of_the_wrong_type_is_validation_failed_naming_the_field(string path, string json, string field)
    {
        var (status, body) = await PostAsync(path, json);

        Assert.Equal((HttpStatusCode.BadRequest, "validation_failed", field),
            (status, body["error"]!.GetValue<string>(), body["field"]?.GetValue<string>()));
        Assert.StartsWith(field, body["message"]!.GetValue<string>());
    }
}
