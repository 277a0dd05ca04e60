using System.Data;
using System.Globalization;
using System.Text;
using System.Xml;
using AffiliateTracker.Http;
using Dapper;
using Npgsql;

namespace AffiliateTracker.ProductFeeds;

/// Writes a feed's products as a publisher downloads them, each product URL turned into their deep link
/// (`/c/{code}?url=…`, with their sub-ids), streamed from PostgreSQL row by row into the response: CSV, YML or
/// Google Merchant RSS.
public static class FeedWriter
{
    public static readonly string[] Formats = ["csv", "yml", "google"];

    /// How a product URL becomes the link written out: the publisher's deep link, or (admins and the
    /// advertiser) the URL itself.
    public delegate string Linker(string productUrl);

    public static string ContentType(string format) => format == "csv" ? "text/csv; charset=utf-8" : "application/xml; charset=utf-8";

    public static async Task WriteAsync(NpgsqlDataSource db, long feedId, string feedName, string format, Linker link, Stream output, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        // The categories first (YML lists them before the offers, with ids); a feed has few.
        var categories = format == "yml"
            ? (await conn.QueryAsync<string>("SELECT DISTINCT category FROM products WHERE feed_id = @feedId AND category IS NOT NULL ORDER BY 1", new { feedId }))
                .Select((c, i) => (c, i + 1)).ToDictionary(p => p.c, p => p.Item2)
            : [];
        await using var cmd = new NpgsqlCommand("""
            SELECT product_id, name, price, currency, url, image_url, category, available FROM products WHERE feed_id = @feedId ORDER BY position
            """, conn);
        cmd.Parameters.AddWithValue("feedId", feedId);
        // Rows arrive as the response is written; the result is never held whole.
        await using var rows = await cmd.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
        switch (format)
        {
            case "csv": await CsvAsync(rows, link, output, ct); break;
            case "yml": await YmlAsync(rows, feedName, categories, link, output, ct); break;
            default: await GoogleAsync(rows, feedName, link, output, ct); break;
        }
    }

    private readonly record struct Row(string Id, string Name, decimal Price, string Currency, string Url, string? Image, string? Category, bool Available);

    private static Row Read(NpgsqlDataReader r) => new(r.GetString(0), r.GetString(1), r.GetDecimal(2), r.GetString(3).Trim(), r.GetString(4),
        r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6), r.GetBoolean(7));

    private static string Amount(decimal v) => v.ToString("0.00##", CultureInfo.InvariantCulture);

    private static async Task CsvAsync(NpgsqlDataReader rows, Linker link, Stream output, CancellationToken ct)
    {
        await using var w = new StreamWriter(output, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        await w.WriteAsync("id,name,price,currency,url,image,category,availability\n");
        while (await rows.ReadAsync(ct))
        {
            var p = Read(rows);
            await w.WriteAsync(string.Join(',', CsvField.Of(p.Id), CsvField.Of(p.Name), Amount(p.Price), p.Currency, CsvField.Of(link(p.Url)),
                CsvField.Of(p.Image), CsvField.Of(p.Category), p.Available ? "in stock" : "out of stock"));
            await w.WriteAsync('\n');
        }
    }

    private static XmlWriter Xml(Stream output) => XmlWriter.Create(output, new XmlWriterSettings
    {
        Async = true, Encoding = new UTF8Encoding(false), Indent = true, CloseOutput = false,
    });

    private static async Task YmlAsync(NpgsqlDataReader rows, string feedName, Dictionary<string, int> categories, Linker link, Stream output, CancellationToken ct)
    {
        await using var w = Xml(output);
        await w.WriteStartDocumentAsync();
        await w.WriteStartElementAsync(null, "yml_catalog", null);
        await w.WriteAttributeStringAsync(null, "date", null, DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture));
        await w.WriteStartElementAsync(null, "shop", null);
        await w.WriteElementStringAsync(null, "name", null, XmlText(feedName));
        await w.WriteStartElementAsync(null, "categories", null);
        foreach (var (name, id) in categories)
        {
            await w.WriteStartElementAsync(null, "category", null);
            await w.WriteAttributeStringAsync(null, "id", null, id.ToString(CultureInfo.InvariantCulture));
            await w.WriteStringAsync(XmlText(name));
            await w.WriteEndElementAsync();
        }
        await w.WriteEndElementAsync();
        await w.WriteStartElementAsync(null, "offers", null);
        while (await rows.ReadAsync(ct))
        {
            var p = Read(rows);
            await w.WriteStartElementAsync(null, "offer", null);
            await w.WriteAttributeStringAsync(null, "id", null, XmlText(p.Id));
            await w.WriteAttributeStringAsync(null, "available", null, p.Available ? "true" : "false");
            await w.WriteElementStringAsync(null, "url", null, link(p.Url));
            await w.WriteElementStringAsync(null, "price", null, Amount(p.Price));
            await w.WriteElementStringAsync(null, "currencyId", null, p.Currency);
            // An import may have committed between the two reads: a category it added is left out, not a broken download.
            if (p.Category is not null && categories.TryGetValue(p.Category, out var categoryId))
                await w.WriteElementStringAsync(null, "categoryId", null, categoryId.ToString(CultureInfo.InvariantCulture));
            if (p.Image is not null) await w.WriteElementStringAsync(null, "picture", null, p.Image);
            await w.WriteElementStringAsync(null, "name", null, XmlText(p.Name));
            await w.WriteEndElementAsync();
        }
        await w.WriteEndDocumentAsync();
    }

    private const string GoogleNamespace = "http://base.google.com/ns/1.0";

    private static async Task GoogleAsync(NpgsqlDataReader rows, string feedName, Linker link, Stream output, CancellationToken ct)
    {
        await using var w = Xml(output);
        await w.WriteStartDocumentAsync();
        await w.WriteStartElementAsync(null, "rss", null);
        await w.WriteAttributeStringAsync(null, "version", null, "2.0");
        await w.WriteAttributeStringAsync("xmlns", "g", null, GoogleNamespace);
        await w.WriteStartElementAsync(null, "channel", null);
        await w.WriteElementStringAsync(null, "title", null, XmlText(feedName));
        while (await rows.ReadAsync(ct))
        {
            var p = Read(rows);
            await w.WriteStartElementAsync(null, "item", null);
            await w.WriteElementStringAsync("g", "id", GoogleNamespace, XmlText(p.Id));
            await w.WriteElementStringAsync("g", "title", GoogleNamespace, XmlText(p.Name));
            await w.WriteElementStringAsync("g", "link", GoogleNamespace, link(p.Url));
            await w.WriteElementStringAsync("g", "price", GoogleNamespace, $"{Amount(p.Price)} {p.Currency}");
            await w.WriteElementStringAsync("g", "availability", GoogleNamespace, p.Available ? "in stock" : "out of stock");
            if (p.Image is not null) await w.WriteElementStringAsync("g", "image_link", GoogleNamespace, p.Image);
            if (p.Category is not null) await w.WriteElementStringAsync("g", "product_type", GoogleNamespace, XmlText(p.Category));
            await w.WriteEndElementAsync();
        }
        await w.WriteEndDocumentAsync();
    }

    // Text a feed carried (names, categories) may hold characters XML 1.0 cannot: they are left out, so the writer
    // never stops half way through a download.
    private static string XmlText(string s)
    {
        foreach (var c in s) if (!XmlConvert.IsXmlChar(c) && !char.IsSurrogate(c)) return new string(s.Where(ch => XmlConvert.IsXmlChar(ch) || char.IsSurrogate(ch)).ToArray());
        return s;
    }
}
