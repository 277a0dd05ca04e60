using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace AffiliateTracker.Http;

/// Turns every failure into a JSON error with the right status: validation (ApiException), malformed
/// requests (BadHttpRequestException), constraint violations the validation missed, unknown routes.
/// Unexpected exceptions are logged and answered 500 without internals.
public static class ErrorHandling
{
    public static void UseJsonErrors(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => Map(e).Status,
            ExceptionHandler = async http =>
            {
                var e = http.Features.Get<IExceptionHandlerFeature>()?.Error;
                var (status, body) = e is null ? (500, Internal) : Map(e);
                if (status >= 500 && e is not null) LogUnhandled(http, e);
                await WriteAsync(http, status, body);
            },
        });
        // Bodyless 4xx answers (unknown route, wrong method, bad content type) get the JSON error too.
        app.UseStatusCodePages(async ctx =>
        {
            var http = ctx.HttpContext;
            if (http.Response.HasStarted || http.Response.ContentLength > 0) return;
            var status = http.Response.StatusCode;
            var body = status switch
            {
                404 => new ErrorBody("not_found", "No such endpoint."),
                405 => new ErrorBody("method_not_allowed", $"{http.Request.Method} is not allowed here."),
                415 => new ErrorBody("unsupported_media_type", "Send the body as application/json."),
                401 => new ErrorBody("unauthorized", "An API key is required: send it as 'Authorization: Bearer <key>' or 'X-Api-Key'."),
                403 => new ErrorBody("forbidden", "This key may not do that."),
                _ => new ErrorBody("error", $"The request failed with status {status}."),
            };
            await http.Response.WriteAsJsonAsync(body);
        });
    }

    private static readonly ErrorBody Internal = new("internal_error", "Something went wrong on our side; it has been logged.");

    /// The same logged 500 for the tracking fast paths (clicks, postbacks), which answer before the exception handler
    /// runs: its per-request wrappers cost every redirect an allocation or two (benchmarks/README.md).
    public static Task InternalErrorAsync(HttpContext http, Exception e)
    {
        LogUnhandled(http, e);
        if (http.Response.HasStarted) return Task.CompletedTask;
        http.Response.Clear();
        return WriteAsync(http, StatusCodes.Status500InternalServerError, Internal);
    }

    private static void LogUnhandled(HttpContext http, Exception e) =>
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("AffiliateTracker.Errors")
            .LogError(e, "Unhandled error on {Method} {Path}", http.Request.Method, http.Request.Path.Value);

    private static Task WriteAsync(HttpContext http, int status, ErrorBody body)
    {
        http.Response.StatusCode = status;
        ResponseHardening.Apply(http);
        return http.Response.WriteAsJsonAsync(body);
    }

    private static (int Status, ErrorBody Body) Map(Exception e) => e switch
    {
        ApiException a => (a.Status, new ErrorBody(a.Error, a.Message, a.Field)),
        BadHttpRequestException { InnerException: System.Text.Json.JsonException j } => (400, JsonError(j)),
        BadHttpRequestException b => (b.StatusCode, new ErrorBody("bad_request", b.Message)),
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } =>
            (409, new ErrorBody("conflict", "A record with these values already exists.")),
        PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation } =>
            (400, new ErrorBody("validation_failed", "The request refers to a record that does not exist.")),
        // CharacterNotInRepertoire: a NUL in a text filter (?txid=%00), which PostgreSQL text cannot hold.
        PostgresException { SqlState: PostgresErrorCodes.CheckViolation or PostgresErrorCodes.StringDataRightTruncation
            or PostgresErrorCodes.NumericValueOutOfRange or PostgresErrorCodes.InvalidTextRepresentation
            or PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter } =>
            (400, new ErrorBody("validation_failed", "A value is out of range or malformed.")),
        _ => (500, Internal),
    };

    // The framework's messages name the parameter and what was wrong, never a secret or an internal. A JSON body
    // that is not JSON says where it breaks; a value of the wrong type or form names its field.
    private static ErrorBody JsonError(System.Text.Json.JsonException j)
    {
        var field = j.Path is { Length: > 2 } path && path.StartsWith("$.") ? path[2..] : j.Path;
        if (j is MoneyJsonConverter.Refused) return new ErrorBody("validation_failed", $"{field} {MoneyText.Rule}.", field);
        // The reader's own exception (a subclass the framework keeps internal) means the text is not JSON at all.
        if (j.GetType() != typeof(System.Text.Json.JsonException) || field is null or "$")
            return new ErrorBody("invalid_json", $"The body is not valid JSON (line {j.LineNumber + 1}, column {j.BytePositionInLine + 1}).");
        return new ErrorBody("validation_failed", $"{field} has the wrong type or form.", field);
    }
}
