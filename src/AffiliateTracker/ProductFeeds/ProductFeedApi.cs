using System.Text.Json;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Dapper;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AffiliateTracker.ProductFeeds;

public sealed record ProductFeedInput(string? Name, string? SourceUrl, int? FetchEveryHours);

public sealed class ProductFeedView
{
    public long Id { get; init; }
    public long OfferId { get; init; }
    public string Name { get; init; } = "";
    public string Status { get; init; } = "";
    /// Where the network fetches the feed, every fetch_every_hours; null for a feed the advertiser uploads.
    public string? SourceUrl { get; set; }
    public int? FetchEveryHours { get; init; }
    public int Products { get; init; }
    public int Skipped { get; init; }
    public DateTime? ImportedAt { get; init; }
    public string? Format { get; init; }
    /// The last import's first problems: line and reason (admins and the advertiser).
    public List<FeedProblem>? Problems { get; set; }
    /// Why the last import or fetch was refused, if it was (admins and the advertiser).
    public string? LastError { get; set; }
    public DateTime CreatedAt { get; init; }
    [System.Text.Json.Serialization.JsonIgnore] public string ProblemsJson { get; init; } = "[]";
}

/// Product feeds: an advertiser's catalogue for an offer, uploaded (YML, Google Merchant XML or CSV) or fetched
/// from a URL on a schedule, which publishers download with every product URL turned into their deep link.
public static class ProductFeedApi
{
    public static void MapProductFeeds(this RouteGroupBuilder api)
    {
        var byOffer = api.MapGroup("/offers/{offerId:long}/product-feeds").WithTags("Product feeds");
        byOffer.MapGet("/", async (long offerId, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller, offerId);
        });
        byOffer.MapPost("/", async (long offerId, ProductFeedInput? body, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var feed = await CreateAsync(conn, caller, offerId, Validate.Body(body));
            return Results.Created($"/api/v1/product-feeds/{feed.Id}", feed);
        }).WithSummary("Add a product feed to an offer: uploaded (PUT …/products) or fetched from source_url every fetch_every_hours");

        var g = api.MapGroup("/product-feeds").WithTags("Product feeds");
        g.MapGet("/{id:long}", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await FindAsync(conn, caller, id);
        });
        g.MapPut("/{id:long}/products", async (long id, HttpRequest request, Caller caller, NpgsqlDataSource db, IOptions<ProductFeedOptions> options) =>
        {
            await RequireWriteAsync(db, caller, id);
            if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = options.Value.MaxUploadBytes;
            Stream body;
            try { body = await UploadStreamAsync(request); }
            catch (IOException) { throw new ApiException(400, "unreadable_upload", "The form could not be read: send the feed as the body, or as a multipart form with a file part."); }
            return await ImportAsync(db, id, body);
        }).WithSummary("Replace the feed's products with the body (YML, Google Merchant XML or CSV; or a multipart form with a file part), streamed")
          .DisableAntiforgery();
        g.MapPost("/{id:long}/fetch", async (long id, Caller caller, NpgsqlDataSource db, FeedFetcher fetcher) =>
        {
            await RequireWriteAsync(db, caller, id);
            return await fetcher.FetchAsync(id, CancellationToken.None);
        }).WithSummary("Fetch the feed's source_url now");
        g.MapGet("/{id:long}/download", async (long id, HttpContext http, Caller caller, NpgsqlDataSource db, PublicBaseUrl publicUrl,
            string? format, [FromQuery(Name = "link_id")] long? linkId) =>
        {
            await DownloadAsync(http, db, caller, publicUrl, id, format ?? "csv", linkId);
        }).WithSummary("The feed as CSV, YML or Google Merchant XML; for a publisher every product URL is their deep link (sub1..sub5 and source pass through)")
          .Produces(200, contentType: "text/csv").Produces(200, contentType: "application/xml");
        g.MapDelete("/{id:long}", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            await ArchiveAsync(db, caller, id);
            return Results.NoContent();
        }).WithSummary("Archive a feed: publishers no longer see it and it is no longer fetched");
    }

    private const string Columns = """
        f.id, f.offer_id, f.name, f.status, f.source_url, f.fetch_every_hours, f.products, f.skipped, f.imported_at, f.format,
        f.problems::text AS problems_json, f.last_error, f.created_at
        """;

    private static string Scope(Caller caller) => caller.Scope("o.advertiser_id",
        publisherCondition: "EXISTS (SELECT 1 FROM offer_access a WHERE a.offer_id = o.id AND a.publisher_id = @callerPublisher)");

    public static async Task<List<ProductFeedView>> ListAsync(NpgsqlConnection conn, Caller caller, long offerId)
    {
        if (!await conn.ExecuteScalarAsync<bool>($"SELECT EXISTS (SELECT 1 FROM offers o WHERE o.id = @offerId AND {Scope(caller)})",
                new { offerId, callerAdvertiser = caller.AdvertiserId, callerPublisher = caller.PublisherId }))
            throw ApiException.NotFound("Offer");
        var feeds = await conn.QueryAsync<ProductFeedView>($"""
            SELECT {Columns} FROM product_feeds f WHERE f.offer_id = @offerId AND f.status = 'active' ORDER BY f.id
            """, new { offerId });
        return feeds.Select(f => Shape(f, caller)).ToList();
    }

    public static async Task<ProductFeedView> FindAsync(NpgsqlConnection conn, Caller caller, long id)
    {
        var feed = await conn.QuerySingleOrDefaultAsync<ProductFeedView>($"""
            SELECT {Columns} FROM product_feeds f JOIN offers o ON o.id = f.offer_id
            WHERE f.id = @id AND f.status = 'active' AND {Scope(caller)}
            """, new { id, callerAdvertiser = caller.AdvertiserId, callerPublisher = caller.PublisherId });
        return feed is null ? throw ApiException.NotFound("Product feed") : Shape(feed, caller);
    }

    public static async Task<ProductFeedView> CreateAsync(NpgsqlConnection conn, Caller caller, long offerId, ProductFeedInput body)
    {
        if (caller.IsPublisher) throw ApiException.Forbidden("Product feeds are added by the network and the offer's advertiser.");
        if (!await conn.ExecuteScalarAsync<bool>($"SELECT EXISTS (SELECT 1 FROM offers o WHERE o.id = @offerId AND {Scope(caller)})",
                new { offerId, callerAdvertiser = caller.AdvertiserId }))
            throw ApiException.NotFound("Offer");
        var source = string.IsNullOrWhiteSpace(body.SourceUrl) ? null : LandingUrlRules.Validated(body.SourceUrl, "source_url");
        int? every = source is null ? null : Validate.Range(body.FetchEveryHours ?? 24, "fetch_every_hours", 1, 168);
        var id = await conn.ExecuteScalarAsync<long>("""
            INSERT INTO product_feeds (offer_id, name, source_url, fetch_every_hours) VALUES (@offerId, @name, @source, @every) RETURNING id
            """, new { offerId, name = Validate.Name(body.Name), source, every });
        return await FindAsync(conn, caller, id);
    }

    /// Admins any feed; the advertiser the feeds of its own offers. Others get 403 (publishers) or 404.
    public static async Task RequireWriteAsync(NpgsqlDataSource db, Caller caller, long id)
    {
        if (caller.IsPublisher) throw ApiException.Forbidden("Product feeds are changed by the network and the offer's advertiser.");
        await using var conn = await db.OpenConnectionAsync();
        await FindAsync(conn, caller, id);
    }

    public static async Task ArchiveAsync(NpgsqlDataSource db, Caller caller, long id)
    {
        await RequireWriteAsync(db, caller, id);
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("UPDATE product_feeds SET status = 'archived' WHERE id = @id", new { id });
    }

    /// Runs an import and answers its report; a feed that cannot be read is refused with the line and reason.
    public static async Task<FeedImportReport> ImportAsync(NpgsqlDataSource db, long id, Stream input, CancellationToken ct = default)
    {
        try
        {
            return await FeedImport.RunAsync(db, id, input, ct);
        }
        catch (FeedFormatException e)
        {
            var message = $"Line {e.Line}: {e.Message} Nothing was imported; the previous products stay.";
            await FeedImport.RecordFailureAsync(db, id, message);
            throw new ApiException(422, "feed_unreadable", message);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            throw new ApiException(413, "too_large", "The feed is larger than the limit (ProductFeeds:MaxUploadBytes); nothing was imported.");
        }
        // An upload cut short, or a form with broken framing: nothing is imported.
        catch (Exception e) when (e is IOException or BadHttpRequestException && !ct.IsCancellationRequested)
        {
            const string message = "The feed could not be read to its end (the upload or download broke off); nothing was imported and the previous products stay.";
            await FeedImport.RecordFailureAsync(db, id, message);
            throw new ApiException(400, "unreadable_upload", message);
        }
    }

    // The body itself, or the file part of a form, read as it arrives (never buffered whole).
    private static async Task<Stream> UploadStreamAsync(HttpRequest request)
    {
        if (!request.HasFormContentType || !Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || type.Boundary.Value is not { Length: > 0 } boundary)
            return request.Body;
        var reader = new MultipartReader(boundary.Trim('"'), request.Body);
        while (await reader.ReadNextSectionAsync() is { } section)
            if (section.GetContentDispositionHeader() is { } disposition && !string.IsNullOrEmpty(disposition.FileName.Value ?? disposition.FileNameStar.Value)) return section.Body;
        throw ApiException.Invalid("file", "is required (a form part with a file)");
    }

    public static async Task DownloadAsync(HttpContext http, NpgsqlDataSource db, Caller caller, PublicBaseUrl publicUrl, long id, string format, long? linkId)
    {
        format = Validate.OneOf(format, "format", FeedWriter.Formats);
        ProductFeedView feed;
        FeedWriter.Linker link = url => url;
        await using (var conn = await db.OpenConnectionAsync())
        {
            feed = await FindAsync(conn, caller, id);
            if (caller.PublisherId is { } publisher)
            {
                var code = await LinkApi.ActiveCodeAsync(conn, feed.OfferId, publisher, linkId)
                    ?? throw new ApiException(409, "no_tracking_link", "Create a tracking link for this offer first: the feed's links are built on it.");
                var prefix = publicUrl.Link(code) + "?" + SubIds(http.Request.Query) + "url=";
                link = url => prefix + Uri.EscapeDataString(url);
            }
        }
        var extension = format == "csv" ? "csv" : "xml";
        http.Response.ContentType = FeedWriter.ContentType(format);
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"feed-{id}-{format}.{extension}\"";
        http.Response.Headers.CacheControl = "no-store";
        await FeedWriter.WriteAsync(db, id, feed.Name, format, link, http.Response.Body, http.RequestAborted);
    }

    // sub1..sub5 and source the publisher asked for, checked like a click's, ready to prefix the url parameter.
    private static string SubIds(IQueryCollection query)
    {
        var parts = "";
        foreach (var name in new[] { "sub1", "sub2", "sub3", "sub4", "sub5", "source" })
        {
            var value = query[name].ToString();
            if (value.Length == 0) continue;
            if (value.Length > 255) throw ApiException.Invalid(name, "must be at most 255 characters");
            parts += $"{name}={Uri.EscapeDataString(value)}&";
        }
        return parts;
    }

    private static ProductFeedView Shape(ProductFeedView feed, Caller caller)
    {
        if (caller.IsPublisher)
        {
            feed.SourceUrl = null;
            feed.LastError = null;
        }
        else feed.Problems = JsonSerializer.Deserialize<List<FeedProblem>>(feed.ProblemsJson, FeedImport.JsonOptions);
        return feed;
    }
}
