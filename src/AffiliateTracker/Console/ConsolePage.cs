using AffiliateTracker.Access;
using AffiliateTracker.Console.Account;
using AffiliateTracker.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AffiliateTracker.Console;

/// What every console page has: the signed-in user and their Caller (the same scope an API key of theirs would
/// have), the visitor's language, and field errors from the shared validation (ApiException) shown beside
/// their fields.
public abstract class ConsolePage : PageModel
{
    public ConsoleUser? CurrentUser => HttpContext.CurrentUser();
    /// The role and owner whose data this page may show: exactly what the same user's API key could read.
    public Caller Caller => CurrentUser?.Caller ?? throw ApiException.Forbidden();
    public Text T => Text.For(HttpContext);

    public Dictionary<string, string> Errors { get; } = new(StringComparer.OrdinalIgnoreCase);
    public string? ErrorFor(string field) => Errors.GetValueOrDefault(field);
    public string? Invalid(string field) => Errors.ContainsKey(field) ? "true" : null;

    /// Shows a validation failure beside its field (or at the top of the form when it names none).
    public IActionResult Refused(ApiException e)
    {
        Errors[e.Field ?? ""] = e.Message;
        Response.StatusCode = e.Status is >= 400 and < 500 ? e.Status : 400;
        return Page();
    }

    /// A message of the console's own (already in the visitor's language) beside a field.
    public IActionResult Refuse(string field, string message, int status = 400)
    {
        Errors[field] = message;
        Response.StatusCode = status;
        return Page();
    }

    public void Notice(string message) => TempData["Notice"] = message;

    /// Not found, forbidden and invalid answers from the shared queries become the same status here, as an HTML page.
    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var executed = await next();
        if (executed.Exception is ApiException e && !executed.ExceptionHandled)
        {
            executed.ExceptionHandled = true;
            executed.Result = e.Status is 404 or 403
                ? new ContentResult { StatusCode = e.Status, ContentType = "text/html; charset=utf-8", Content = ErrorHtml(e.Status, e.Message) }
                : Refused(e);
        }
    }

    private string ErrorHtml(int status, string message) =>
        $"<!DOCTYPE html><html lang=\"{T.Language}\"><head><meta charset=\"utf-8\"><title>{status}</title></head><body><main><h1>{status}</h1><p>{System.Net.WebUtility.HtmlEncode(message)}</p><p><a href=\"/\">AffiliateTracker</a></p></main></body></html>";
}
