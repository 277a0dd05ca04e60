using AffiliateTracker.Creatives;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using AffiliateTracker.ProductFeeds;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AffiliateTracker.Console.Shared;

/// An offer's promotional material for admins and its advertiser: banners and snippets (CreativeApi), product
/// feeds uploaded or fetched on a schedule (ProductFeedApi), each with its last import's problems.
[RequestSizeLimit(1L << 30), RequestFormLimits(MultipartBodyLengthLimit = 1L << 30)]
public abstract class MaterialsPage(NpgsqlDataSource db, PublicBaseUrl publicUrl, FeedFetcher fetcher) : ConsolePage
{
    public abstract string Home { get; }
    public List<OfferView> Offers { get; private set; } = [];
    [BindProperty(SupportsGet = true, Name = "offer")] public long? OfferId { get; set; }
    public OfferView? Offer => Offers.FirstOrDefault(o => o.Id == OfferId);
    public List<CreativeView> Creatives { get; private set; } = [];
    public List<ProductFeedView> Feeds { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostImageAsync(IFormFile? file, string? name)
    {
        await LoadAsync();
        if (Offer is null) return NotFound();
        if (file is null || file.Length == 0) return Refuse("file", T["Materials.ChooseFile"]);
        if (file.Length > ImageFile.MaxBytes) return Refuse("file", T["Materials.TooLarge", ImageFile.MaxBytes / 1024 / 1024], 413);
        var bytes = new byte[file.Length];
        await using (var stream = file.OpenReadStream()) await stream.ReadExactlyAsync(bytes);
        return await Saved(conn => CreativeApi.CreateImageAsync(conn, Caller, publicUrl, Offer.Id,
            string.IsNullOrWhiteSpace(name) ? Path.GetFileNameWithoutExtension(file.FileName) : name, file.ContentType, bytes));
    }

    public async Task<IActionResult> OnPostSnippetAsync(string? kind, string? name, string? body)
    {
        await LoadAsync();
        if (Offer is null) return NotFound();
        return await Saved(conn => CreativeApi.CreateTextAsync(conn, Caller, publicUrl, Offer.Id, new CreativeInput(kind, name, body)));
    }

    public async Task<IActionResult> OnPostArchiveAsync(long creativeId)
    {
        await using (var conn = await db.OpenConnectionAsync()) await CreativeApi.ArchiveAsync(conn, Caller, creativeId);
        Notice(T["Materials.Archived"]);
        return Redirect($"{Home}?offer={OfferId}");
    }

    public async Task<IActionResult> OnPostFeedAsync(string? name, string? sourceUrl, int? fetchEveryHours)
    {
        await LoadAsync();
        if (Offer is null) return NotFound();
        return await Saved(conn => ProductFeedApi.CreateAsync(conn, Caller, Offer.Id, new ProductFeedInput(name, sourceUrl, fetchEveryHours)));
    }

    public async Task<IActionResult> OnPostUploadAsync(long feedId, IFormFile? feed)
    {
        await LoadAsync();
        if (feed is null || feed.Length == 0) return Refuse("feed", T["Materials.ChooseFile"]);
        await ProductFeedApi.RequireWriteAsync(db, Caller, feedId);
        try
        {
            await using var stream = feed.OpenReadStream();
            var report = await ProductFeedApi.ImportAsync(db, feedId, stream);
            Notice(T["Materials.Imported", report.Products, report.Skipped]);
            return Redirect($"{Home}?offer={OfferId}");
        }
        catch (ApiException e) when (e.Status is 400 or 409 or 422) { await LoadAsync(); return Refuse("feed", e.Message, e.Status); }
    }

    public async Task<IActionResult> OnPostFetchAsync(long feedId)
    {
        await ProductFeedApi.RequireWriteAsync(db, Caller, feedId);
        try
        {
            var report = await fetcher.FetchAsync(feedId, HttpContext.RequestAborted);
            Notice(T["Materials.Imported", report.Products, report.Skipped]);
        }
        catch (ApiException e) when (e.Status is 409 or 422) { Notice(e.Message); }
        return Redirect($"{Home}?offer={OfferId}");
    }

    public async Task<IActionResult> OnPostArchiveFeedAsync(long feedId)
    {
        await ProductFeedApi.ArchiveAsync(db, Caller, feedId);
        Notice(T["Materials.Archived"]);
        return Redirect($"{Home}?offer={OfferId}");
    }

    public async Task<IActionResult> OnGetDownloadAsync(long feed, string? format)
    {
        await ProductFeedApi.DownloadAsync(HttpContext, db, Caller, publicUrl, feed, format ?? "csv", null);
        return new EmptyResult();
    }

    private async Task<IActionResult> Saved<TResult>(Func<NpgsqlConnection, Task<TResult>> save)
    {
        try
        {
            await using (var conn = await db.OpenConnectionAsync()) await save(conn);
        }
        catch (ApiException e) when (e.Status is 400 or 413 or 415) { return Refused(e); }
        Notice(T["Common.Saved"]);
        return Redirect($"{Home}?offer={OfferId}");
    }

    private async Task LoadAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        Offers = await OfferApi.LoadManyAsync(conn, Caller, "true", new { });
        OfferId ??= Offers.FirstOrDefault()?.Id;
        if (Offer is null) return;
        Creatives = await CreativeApi.ListAsync(conn, Caller, publicUrl, Offer.Id);
        Feeds = await ProductFeedApi.ListAsync(conn, Caller, Offer.Id);
    }
}
