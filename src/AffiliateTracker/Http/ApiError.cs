using System.Text.Json.Serialization;

namespace AffiliateTracker.Http;

/// The one JSON error shape every endpoint answers with: { "error": code, "message": sentence, "field": name }.
public sealed record ErrorBody(
    string Error,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Field = null);

/// Thrown by validation before anything is written; the error middleware turns it into the JSON error.
public sealed class ApiException(int status, string error, string message, string? field = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Error { get; } = error;
    public string? Field { get; } = field;

    public static ApiException Invalid(string field, string problem) =>
        new(400, "validation_failed", $"{field} {problem}.", field);
    public static ApiException NotFound(string what) => new(404, "not_found", $"{what} was not found.");
    public static ApiException Forbidden(string message = "This key may not do that.") => new(403, "forbidden", message);
}
