using System.Net;
using System.Security.Cryptography;
using AffiliateTracker.Access;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using Dapper;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Creatives;

public sealed record CreativeInput(string? Kind, string? Name, string? Body);

public sealed class CreativeView
{
    public long Id { get; init; }
    public long OfferId { get; init; }
    public string Kind { get; init; } = "";
    public string Name { get; init; } = "";
    public string Status { get; init; } = "";
    public string? ContentType { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public int? Bytes { get; init; }
    /// Where the image is served (publicly, so publishers can embed it), addressed by its content.
    public string? ImageUrl { get; set; }
    /// The text or HTML as the advertiser wrote it, macros and all (not shown to publishers).
    public string? Body { get; set; }
    /// What a publisher pastes: the creative with their tracking link filled in (macros as written for others).
    public string Code { get; set; } = "";
    /// The publisher's tracking link the code carries; null when they have none for this offer yet.
    public string? TrackingUrl { get; set; }
    public DateTime CreatedAt { get; init; }
    internal string? Sha256 { get; init; }
    internal string? Extension => ContentType is null ? null : ContentType[(ContentType.IndexOf('/') + 1)..].Replace("jpeg", "jpg");
}

/// Banners and text or HTML snippets for an offer: added by admins and the offer's advertiser, shown to the
/// publishers who run it with their own tracking link in them. Images are served at /creatives/{id}/{hash}.{ext}.
public static class CreativeApi
{
    /// Macros a text or HTML creative may use; the publisher's view fills them in.
    public static readonly string[] Macros = ["{tracking_url}", "{aff_id}", "{offer_id}"];
    public const int MaxBodyLength = 20_000;

    public static void MapCreatives(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/offers/{offerId:long}/creatives").WithTags("Creatives");

        g.MapGet("/", async (long offerId, Caller caller, NpgsqlDataSource db, PublicBaseUrl publicUrl, [FromQuery(Name = "link_id")] long? linkId) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await ListAsync(conn, caller, publicUrl, offerId, linkId);
        }).WithSummary("An offer's active creatives; publishers get each with their tracking link filled in");

        g.MapPost("/", async (long offerId, CreativeInput? body, Caller caller, NpgsqlDataSource db, PublicBaseUrl publicUrl) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var view = await CreateTextAsync(conn, caller, publicUrl, offerId, Validate.Body(body));
            return Results.Created($"/api/v1/offers/{offerId}/creatives", view);
        }).WithSummary("Add a text or HTML creative (kind: text or html; macros {tracking_url}, {aff_id}, {offer_id})");

        g.MapPost("/images", async (long offerId, HttpRequest request, Caller caller, NpgsqlDataSource db, PublicBaseUrl publicUrl, string? name) =>
        {
            var (bytes, claimed, fileName) = await ReadUploadAsync(request);
            await using var conn = await db.OpenConnectionAsync();
            var view = await CreateImageAsync(conn, caller, publicUrl, offerId, name ?? fileName, claimed, bytes);
            return Results.Created($"/api/v1/offers/{offerId}/creatives", view);
        }).WithSummary("Add an image (PNG, JPEG, GIF or WebP, at most 2 MB): multipart/form-data with a file part, or the image as the body")
          .DisableAntiforgery();

        api.MapDelete("/creatives/{id:long}", async (long id, Caller caller, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            await ArchiveAsync(conn, caller, id);
            return Results.NoContent();
        }).WithTags("Creatives").WithSummary("Archive a creative: publishers no longer see it, its image stops being served");
    }

    /// The image itself, for anyone (publishers embed it in their pages): cached for a year, because the URL
    /// changes with the content.
    public static void MapCreativeImages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/creatives/{id:long}/{file}", async (long id, string file, HttpContext http, NpgsqlDataSource db) =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var found = await conn.QuerySingleOrDefaultAsync<StoredImage>(
                "SELECT content_type, sha256, image FROM creatives WHERE id = @id AND kind = 'image' AND status = 'active'", new { id });
            if (found is null || !file.StartsWith(found.Sha256[..16] + ".", StringComparison.Ordinal))
                return ErrorPage.Result(http, 404, "unknown_creative", "This image does not exist.");
            var etag = $"\"{found.Sha256}\"";
            http.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
            http.Response.Headers.ETag = etag;
            if (http.Request.Headers.IfNoneMatch == etag) return Results.StatusCode(304);
            return Results.Bytes(found.Image, found.ContentType);
        }).WithTags("Creatives").WithSummary("A creative's image, as publishers embed it");
    }

    public static async Task<List<CreativeView>> ListAsync(NpgsqlConnection conn, Caller caller, PublicBaseUrl publicUrl, long offerId, long? linkId = null)
    {
        await RequireOfferAsync(conn, caller, offerId, write: false);
        var views = (await conn.QueryAsync<CreativeView>($"""
            SELECT {Columns} FROM creatives WHERE offer_id = @offerId AND status = 'active' ORDER BY id
            """, new { offerId })).ToList();
        string? trackingUrl = null;
        if (caller.PublisherId is { } publisher)
        {
            var code = await LinkApi.ActiveCodeAsync(conn, offerId, publisher, linkId);
            trackingUrl = code is null ? null : publicUrl.Link(code);
        }
        foreach (var v in views) Render(v, publicUrl, caller, trackingUrl);
        return views;
    }

    public static async Task<CreativeView> CreateTextAsync(NpgsqlConnection conn, Caller caller, PublicBaseUrl publicUrl, long offerId, CreativeInput body)
    {
        await RequireOfferAsync(conn, caller, offerId, write: true);
        var kind = Validate.OneOf(body.Kind, "kind", "text", "html");
        var text = Validate.Text(body.Body, "body", MaxBodyLength);
        if (text.Length == 0) throw ApiException.Invalid("body", "is required");
        var view = await conn.QuerySingleAsync<CreativeView>($"""
            INSERT INTO creatives (offer_id, kind, name, body) VALUES (@offerId, @kind, @name, @text) RETURNING {Columns}
            """, new { offerId, kind, name = Validate.Name(body.Name), text });
        return Render(view, publicUrl, caller, null);
    }

    public static async Task<CreativeView> CreateImageAsync(NpgsqlConnection conn, Caller caller, PublicBaseUrl publicUrl, long offerId,
        string? name, string? claimedType, byte[] bytes)
    {
        await RequireOfferAsync(conn, caller, offerId, write: true);
        if (bytes.Length == 0) throw ApiException.Invalid("file", "is empty");
        var image = ImageFile.Read(bytes);
        var claimed = claimedType?.Split(';')[0].Trim().ToLowerInvariant();
        if (claimed is "image/svg+xml") throw new ApiException(415, "unsupported_image", "SVG images are not accepted (they can carry script): upload a PNG, JPEG, GIF or WebP.");
        if (image is null)
            throw new ApiException(415, "unsupported_image", "The file is not a PNG, JPEG, GIF or WebP image (its type is read from its bytes).");
        if (claimed is not (null or "" or "application/octet-stream") && claimed != image.ContentType)
            throw new ApiException(400, "type_mismatch", $"The file is a {image.ContentType} image, not {claimed} as the upload claims.", "file");
        if (image.Width > ImageFile.MaxSide || image.Height > ImageFile.MaxSide)
            throw ApiException.Invalid("file", $"must be at most {ImageFile.MaxSide}×{ImageFile.MaxSide} pixels; this one is {image.Width}×{image.Height}");
        var view = await conn.QuerySingleAsync<CreativeView>($"""
            INSERT INTO creatives (offer_id, kind, name, content_type, width, height, image, sha256)
            VALUES (@offerId, 'image', @name, @ContentType, @Width, @Height, @bytes, @sha) RETURNING {Columns}
            """, new { offerId, name = Validate.Name(string.IsNullOrWhiteSpace(name) ? $"{image.Width}×{image.Height}" : name), image.ContentType,
            image.Width, image.Height, bytes, sha = Convert.ToHexStringLower(SHA256.HashData(bytes)) });
        return Render(view, publicUrl, caller, null);
    }

    public static async Task ArchiveAsync(NpgsqlConnection conn, Caller caller, long id)
    {
        var offerId = await conn.ExecuteScalarAsync<long?>("SELECT offer_id FROM creatives WHERE id = @id AND status = 'active'", new { id })
            ?? throw ApiException.NotFound("Creative");
        try { await RequireOfferAsync(conn, caller, offerId, write: true); }
        catch (ApiException e) when (e.Status == 404) { throw ApiException.NotFound("Creative"); }
        await conn.ExecuteAsync("UPDATE creatives SET status = 'archived' WHERE id = @id", new { id });
    }

    /// The body of an image upload: the file part of a form (the console), or the whole body (the API), at most
    /// ImageFile.MaxBytes, with the type the uploader claims and the file's name.
    private static async Task<(byte[] Bytes, string? Claimed, string? FileName)> ReadUploadAsync(HttpRequest request)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = ImageFile.MaxBytes + 64 * 1024;
        try
        {
            if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync();
                var file = form.Files.GetFile("file") ?? throw ApiException.Invalid("file", "is required (a form part named file)");
                if (file.Length > ImageFile.MaxBytes) throw TooLarge();
                await using var stream = file.OpenReadStream();
                return (await ReadAllAsync(stream), file.ContentType, Path.GetFileNameWithoutExtension(file.FileName));
            }
            return (await ReadAllAsync(request.Body), request.ContentType, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413) { throw TooLarge(); }
        catch (InvalidDataException) { throw TooLarge(); }
        // A form cut short or with broken framing (or a client that hung up part way).
        catch (Exception e) when (e is IOException or BadHttpRequestException)
        {
            throw new ApiException(400, "unreadable_upload", "The upload could not be read to its end: send the image as the body, or as a multipart form with a file part.");
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + n > ImageFile.MaxBytes) throw TooLarge();
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    private static ApiException TooLarge() => new(413, "too_large", $"An image may be at most {ImageFile.MaxBytes / 1024 / 1024} MB.");

    // Admins any offer; an advertiser its own; a publisher (reading only) the offers it has been granted.
    private static async Task RequireOfferAsync(NpgsqlConnection conn, Caller caller, long offerId, bool write)
    {
        if (write && caller.IsPublisher) throw ApiException.Forbidden("Creatives are added by the network and the offer's advertiser.");
        var visible = await conn.ExecuteScalarAsync<bool>($"""
            SELECT EXISTS (SELECT 1 FROM offers o WHERE o.id = @offerId AND {caller.Scope("o.advertiser_id",
                publisherCondition: "EXISTS (SELECT 1 FROM offer_access a WHERE a.offer_id = o.id AND a.publisher_id = @callerPublisher)")})
            """, new { offerId, callerAdvertiser = caller.AdvertiserId, callerPublisher = caller.PublisherId });
        if (!visible) throw ApiException.NotFound("Offer");
    }

    private const string Columns = "id, offer_id, kind, name, status, content_type, width, height, length(image) AS bytes, body, sha256, created_at";

    private static CreativeView Render(CreativeView v, PublicBaseUrl publicUrl, Caller caller, string? trackingUrl)
    {
        if (v.Sha256 is not null) v.ImageUrl = $"{publicUrl.Value}/creatives/{v.Id}/{v.Sha256[..16]}.{v.Extension}";
        v.TrackingUrl = trackingUrl;
        var link = trackingUrl ?? "{tracking_url}";
        var aff = caller.PublisherId?.ToString() ?? "{aff_id}";
        v.Code = v.Kind switch
        {
            "image" => $"<a href=\"{WebUtility.HtmlEncode(link)}\" target=\"_blank\" rel=\"sponsored noopener\"><img src=\"{v.ImageUrl}\" width=\"{v.Width}\" height=\"{v.Height}\" alt=\"{WebUtility.HtmlEncode(v.Name)}\"></a>",
            "html" => Fill(v.Body!, WebUtility.HtmlEncode(link), aff, v.OfferId),
            _ => Fill(v.Body!, link, aff, v.OfferId),
        };
        if (caller.IsPublisher) v.Body = null;
        return v;
    }

    private sealed class StoredImage
    {
        public string ContentType { get; init; } = "";
        public string Sha256 { get; init; } = "";
        public byte[] Image { get; init; } = [];
    }

    private static string Fill(string body, string link, string aff, long offerId) =>
        body.Replace("{tracking_url}", link).Replace("{aff_id}", aff).Replace("{offer_id}", offerId.ToString());
}
