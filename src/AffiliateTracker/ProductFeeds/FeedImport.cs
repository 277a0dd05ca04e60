using System.Globalization;
using System.Text.Json;
using AffiliateTracker.Http;
using AffiliateTracker.Network;
using AffiliateTracker.Storage;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace AffiliateTracker.ProductFeeds;

public sealed record FeedProblem(int Line, string Problem);

/// What an import did: the format read, products kept, items skipped, and the first problems by line.
public sealed record FeedImportReport(long FeedId, string Format, int Products, int Skipped, IReadOnlyList<FeedProblem> Problems);

/// Replaces a feed's products with a new upload or fetch, in one transaction: items are checked one by one as
/// they are read and copied straight into PostgreSQL (binary COPY), so memory holds one item and the set of ids
/// seen, never the feed. Items with a problem are skipped and reported by line; a feed that cannot be read
/// (FeedFormatException) is refused whole and the previous products stay.
public static class FeedImport
{
    public const int MaxProducts = 1_000_000, MaxReportedProblems = 100;

    public static async Task<FeedImportReport> RunAsync(NpgsqlDataSource db, long feedId, Stream input, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        // One import of a feed at a time; the offer's domains are read as the products are checked against them.
        var offer = await conn.QuerySingleOrDefaultAsync<OfferTerms>("""
            SELECT o.deep_link_domains, o.currency FROM product_feeds f JOIN offers o ON o.id = f.offer_id
            WHERE f.id = @feedId FOR UPDATE OF f
            """, new { feedId }, tx) ?? throw ApiException.NotFound("Product feed");
        if (offer.DeepLinkDomains.Length == 0)
            throw new ApiException(409, "no_deep_link_domains", "The offer lists no deep-link domains, so no product could be linked to: an admin adds them to the offer first.");

        await using (var delete = new NpgsqlCommand("DELETE FROM products WHERE feed_id = @feedId", conn, tx))
        {
            delete.Parameters.AddWithValue("feedId", feedId);
            await delete.ExecuteNonQueryAsync(ct);
        }
        var format = "unknown";
        var problems = new List<FeedProblem>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        int products = 0, skipped = 0;
        await using (var copy = await conn.BeginBinaryImportAsync(
            "COPY products (feed_id, position, product_id, name, price, currency, url, image_url, category, available) FROM STDIN (FORMAT BINARY)", ct))
        {
            await foreach (var raw in FeedReader.ReadAsync(input, f => format = f, ct))
            {
                var problem = Check(raw, offer, out var product);
                if (problem is null && seen.TryGetValue(product!.Id, out var firstLine)) problem = $"id {product.Id} was already on line {firstLine}";
                if (problem is not null)
                {
                    skipped++;
                    if (problems.Count < MaxReportedProblems) problems.Add(new FeedProblem(raw.Line, problem));
                    continue;
                }
                if (products == MaxProducts) throw new FeedFormatException(raw.Line, $"The feed has more than {MaxProducts} products.");
                seen[product!.Id] = raw.Line;
                products++;
                copy.StartRow();
                copy.Write(feedId, NpgsqlDbType.Bigint);
                copy.Write(products, NpgsqlDbType.Integer);
                copy.Write(product.Id, NpgsqlDbType.Text);
                copy.Write(product.Name, NpgsqlDbType.Text);
                copy.Write(product.Price, NpgsqlDbType.Numeric);
                copy.Write(product.Currency, NpgsqlDbType.Char);
                copy.Write(product.Url, NpgsqlDbType.Text);
                copy.WriteText(product.Image);
                copy.WriteText(product.Category);
                copy.Write(product.Available, NpgsqlDbType.Boolean);
            }
            await copy.CompleteAsync(ct);
        }
        await conn.ExecuteAsync("""
            UPDATE product_feeds SET products = @products, skipped = @skipped, imported_at = now(), format = @format,
                problems = @problems::jsonb, last_error = NULL
            WHERE id = @feedId
            """, new { feedId, products, skipped, format, problems = JsonSerializer.Serialize(problems, JsonOptions) }, tx);
        await tx.CommitAsync(ct);
        return new FeedImportReport(feedId, format, products, skipped, problems);
    }

    /// A refused import leaves the products as they were and says why on the feed.
    public static async Task RecordFailureAsync(NpgsqlDataSource db, long feedId, string error)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("UPDATE product_feeds SET last_error = @error WHERE id = @feedId", new { feedId, error });
    }

    public static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public sealed record Product(string Id, string Name, decimal Price, string Currency, string Url, string? Image, string? Category, bool Available);

    private sealed class OfferTerms
    {
        public string[] DeepLinkDomains { get; init; } = [];
        public string Currency { get; init; } = "";
    }

    /// Null when the item is a product the network can link to, with it in `product`; otherwise why not.
    private static string? Check(RawProduct raw, OfferTerms offer, out Product? product)
    {
        product = null;
        if (raw.Problem is not null) return raw.Problem;
        var id = Clean(raw.Id);
        if (id is null) return "id is missing";
        if (id.Length > 200) return "id is longer than 200 characters";
        var name = Clean(raw.Name);
        if (name is null) return "name is missing";
        if (name.Length > 1000) name = name[..1000];
        if (Price(raw.Price) is not { } price) return $"price '{Shorten(raw.Price)}' is not an amount of at most 4 decimals";
        var currency = (Clean(raw.Currency) ?? offer.Currency).ToUpperInvariant();
        if (currency == "RUR") currency = "RUB"; // YML's old code for the rouble
        if (currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper)) return $"currency '{Shorten(raw.Currency)}' is not a three-letter code";
        var url = Clean(raw.Url);
        if (url is null) return "url is missing";
        if (DeepLinkRules.AllowedHost(url, offer.DeepLinkDomains) is null) return $"url '{Shorten(url)}' is not on the offer's deep-link domains";
        var image = Clean(raw.Image);
        if (image is not null && (image.Length > 2000 || LandingUrlRules.Problem(image) is not null)) return $"image '{Shorten(image)}' is not an http(s) URL";
        if (Available(raw.Availability) is not { } available) return $"availability '{Shorten(raw.Availability)}' is not one of in stock, out of stock, preorder, true, false";
        var category = Clean(raw.Category);
        product = new Product(id, name, price, currency, url, image, category is { Length: > 500 } ? category[..500] : category, available);
        return null;
    }

    private static string? Clean(string? s)
    {
        if (s is null) return null;
        s = InputText.Clean(s.Trim());
        return string.IsNullOrEmpty(s) ? null : s;
    }

    private static string Shorten(string? s) => s is null ? "" : s.Length <= 60 ? s : s[..60] + "…";

    // "1299.00", "1 299,00" (a comma as the decimal mark where no dot is present), at most 4 decimals.
    private static decimal? Price(string? text)
    {
        var s = Clean(text)?.Replace(" ", "").Replace("\u00A0", "");
        if (s is null) return null;
        if (!s.Contains('.') && s.Count(c => c == ',') == 1) s = s.Replace(',', '.');
        return decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v) && v <= MoneyText.Max
            && decimal.Round(v, 4) == v ? v : null;
    }

    private static bool? Available(string? text) => Clean(text)?.ToLowerInvariant().Replace('_', ' ') switch
    {
        null or "true" or "1" or "yes" or "in stock" or "instock" or "available" or "preorder" or "backorder" => true,
        "false" or "0" or "no" or "out of stock" or "outofstock" or "discontinued" => false,
        _ => null,
    };
}
