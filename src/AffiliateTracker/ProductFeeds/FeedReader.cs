using System.Runtime.CompilerServices;
using System.Text;
using System.Xml;
using AffiliateTracker.Http;

namespace AffiliateTracker.ProductFeeds;

/// One product as a feed states it, before it is checked (FeedImport): the feed's text, and the line it starts
/// on. Problem is set when the item could not even be read (a line too long, broken encoding, bad quoting).
public sealed record RawProduct(int Line, string? Id, string? Name, string? Price, string? Currency, string? Url, string? Image,
    string? Category, string? Availability, string? Problem = null);

/// A feed that cannot be read past some point (XML that is not well-formed, a CSV without the columns): the
/// import is refused and the products already imported stay as they were.
public sealed class FeedFormatException(int line, string message) : Exception(message)
{
    public int Line { get; } = line;
}

/// Reads a product feed as a stream, one product at a time, so a feed of any size never sits in memory:
/// YML (Yandex Market Language, the catalogue format of Russian-speaking networks), Google Merchant XML (RSS 2.0
/// or Atom with the g: namespace), or CSV with a header row. The format is told from the first bytes.
public static class FeedReader
{
    /// Text longer than this in one field or one CSV line is not a product field: the item is skipped.
    public const int MaxFieldLength = 64 * 1024;

    public static async IAsyncEnumerable<RawProduct> ReadAsync(Stream input, Action<string> format, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var head = new byte[512];
        var n = await input.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, ct);
        if (n == 0) throw new FeedFormatException(1, "The feed is empty.");
        var stream = new ReplayStream(head.AsMemory(0, n), input);
        var first = head.AsSpan(0, n);
        if (first.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) first = first[3..];
        first = first.TrimStart(" \t\r\n"u8);
        var items = first.Length > 0 && first[0] == (byte)'<' ? Xml(stream, format, ct) : Csv(stream, format, ct);
        await foreach (var item in items) yield return item;
    }

    // ---- XML: YML and Google Merchant ----

    private static async IAsyncEnumerable<RawProduct> Xml(Stream stream, Action<string> format, [EnumeratorCancellation] CancellationToken ct)
    {
        // No DTD is read and no entity expanded (a "billion laughs" feed fails on its first undeclared entity); YML
        // feeds usually name shops.dtd, which is skipped. Encodings the feed declares (windows-1251 is common in
        // YML) are read through the code pages registered at start.
        var settings = new XmlReaderSettings
        {
            Async = true, DtdProcessing = DtdProcessing.Ignore, XmlResolver = null, MaxCharactersFromEntities = 1024,
            IgnoreComments = true, IgnoreProcessingInstructions = true, IgnoreWhitespace = true, CloseInput = false,
        };
        using var r = XmlReader.Create(stream, settings);
        var lines = (IXmlLineInfo)r;
        var categories = new Dictionary<string, string>();
        string? kind = null;
        while (true)
        {
            bool more;
            try { more = await r.ReadAsync(); }
            catch (XmlException e) { throw new FeedFormatException(e.LineNumber, $"The feed is not well-formed XML: {e.Message}"); }
            if (!more) break;
            if (r.NodeType != XmlNodeType.Element) continue;
            if (kind is null)
            {
                kind = r.LocalName switch { "yml_catalog" => "yml", "rss" or "feed" => "google", _ => null }
                    ?? throw new FeedFormatException(lines.LineNumber, $"The XML root <{r.LocalName}> is neither YML (<yml_catalog>) nor Google Merchant (<rss> or <feed>).");
                format(kind);
                continue;
            }
            RawProduct? item;
            try
            {
                item = kind == "yml" ? await YmlElementAsync(r, lines, categories) : await GoogleElementAsync(r, lines);
            }
            catch (XmlException e) { throw new FeedFormatException(e.LineNumber, $"The feed is not well-formed XML: {e.Message}"); }
            if (item is not null) yield return item;
        }
        if (kind is null) throw new FeedFormatException(1, "The feed has no XML root element.");
    }

    private static async Task<RawProduct?> YmlElementAsync(XmlReader r, IXmlLineInfo lines, Dictionary<string, string> categories)
    {
        switch (r.LocalName)
        {
            case "category" when r.Depth == 3:
                var id = r.GetAttribute("id");
                var (name, _) = await TextAsync(r);
                // Bounded: a feed's category list is small, and a hostile one must not fill memory.
                if (id is not null && categories.Count < 10_000) categories[id] = name.Trim() is { Length: > 500 } longName ? longName[..500] : name.Trim();
                return null;
            case "offer" when r.Depth == 3:
                var line = lines.LineNumber;
                var (offerId, available) = (r.GetAttribute("id"), r.GetAttribute("available"));
                var f = await FieldsAsync(r);
                var productName = f.GetValueOrDefault("name")
                    ?? string.Join(' ', new[] { f.GetValueOrDefault("typePrefix"), f.GetValueOrDefault("vendor"), f.GetValueOrDefault("model") }.Where(s => !string.IsNullOrEmpty(s)));
                var category = f.GetValueOrDefault("categoryId") is { } c ? categories.GetValueOrDefault(c.Trim(), c.Trim()) : null;
                return new RawProduct(line, offerId, productName, f.GetValueOrDefault("price"), f.GetValueOrDefault("currencyId"),
                    f.GetValueOrDefault("url"), f.GetValueOrDefault("picture"), category, available ?? "true", f.GetValueOrDefault(TooLong));
            default:
                return null;
        }
    }

    private static async Task<RawProduct?> GoogleElementAsync(XmlReader r, IXmlLineInfo lines)
    {
        if (r.LocalName is not ("item" or "entry")) return null;
        var line = lines.LineNumber;
        var f = await FieldsAsync(r);
        // "15.00 USD": the amount and the currency in one field.
        string? price = f.GetValueOrDefault("price"), currency = null;
        if (price?.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var amount, var code]) (price, currency) = (amount, code);
        return new RawProduct(line, f.GetValueOrDefault("id"), f.GetValueOrDefault("title"), price, currency, f.GetValueOrDefault("link"),
            f.GetValueOrDefault("image_link"), f.GetValueOrDefault("product_type") ?? f.GetValueOrDefault("google_product_category"),
            f.GetValueOrDefault("availability") ?? "in stock", f.GetValueOrDefault(TooLong));
    }

    private const string TooLong = "\0too-long";

    /// The child elements of the current one, by local name (the first of each), as text; an Atom <link href>
    /// counts as its href. A field over MaxFieldLength is reported under TooLong.
    private static async Task<Dictionary<string, string>> FieldsAsync(XmlReader r)
    {
        var fields = new Dictionary<string, string>();
        if (r.IsEmptyElement) return fields;
        var depth = r.Depth;
        while (await r.ReadAsync())
        {
            if (r.NodeType == XmlNodeType.EndElement && r.Depth == depth) break;
            if (r.NodeType != XmlNodeType.Element) continue;
            var name = r.LocalName;
            var href = name == "link" ? r.GetAttribute("href") : null;
            var (text, cut) = await TextAsync(r);
            if (cut) fields.TryAdd(TooLong, $"{name} is longer than {MaxFieldLength} characters");
            fields.TryAdd(name, href ?? text.Trim());
        }
        return fields;
    }

    /// The text inside the current element (nested markup ignored), read in chunks and cut at MaxFieldLength,
    /// so one huge text node costs no more memory than that. Leaves the reader on the element's end.
    private static async Task<(string Text, bool Cut)> TextAsync(XmlReader r)
    {
        if (r.IsEmptyElement) return ("", false);
        var depth = r.Depth;
        var sb = new StringBuilder();
        var cut = false;
        var chunk = new char[4096];
        while (await r.ReadAsync())
        {
            if (r.NodeType == XmlNodeType.EndElement && r.Depth == depth) break;
            if (r.NodeType is not (XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.SignificantWhitespace)) continue;
            int n;
            while ((n = await r.ReadValueChunkAsync(chunk, 0, chunk.Length)) > 0)
                if (sb.Length + n <= MaxFieldLength) sb.Append(chunk, 0, n); else cut = true;
        }
        return (sb.ToString(), cut);
    }

    // ---- CSV ----

    private static readonly Dictionary<string, string> CsvColumns = new(StringComparer.OrdinalIgnoreCase)
    {
        ["id"] = "id", ["sku"] = "id", ["name"] = "name", ["title"] = "name", ["price"] = "price", ["currency"] = "currency",
        ["url"] = "url", ["link"] = "url", ["image"] = "image", ["image_link"] = "image", ["image_url"] = "image", ["picture"] = "image",
        ["category"] = "category", ["product_type"] = "category", ["availability"] = "availability", ["available"] = "availability",
    };

    private static async IAsyncEnumerable<RawProduct> Csv(Stream stream, Action<string> format, [EnumeratorCancellation] CancellationToken ct)
    {
        format("csv");
        // Invalid UTF-8 becomes U+FFFD here, and the line that has it is skipped with a report.
        using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: true);
        var lines = new BoundedLines(reader, MaxFieldLength);
        var header = await lines.NextAsync(ct) ?? throw new FeedFormatException(1, "The feed is empty.");
        if (header.Text is null) throw new FeedFormatException(1, "The header line is longer than the limit.");
        // Semicolons or tabs where a spreadsheet in another locale saved them.
        var separator = new[] { ',', ';', '\t' }.MaxBy(c => header.Text.Count(x => x == c));
        var fields = new List<string>();
        if (!CsvLine.TrySplit(header.Text, fields, out _, separator)) throw new FeedFormatException(1, "Line 1 is not a CSV header.");
        var index = new Dictionary<string, int>();
        for (var i = 0; i < fields.Count; i++)
            if (CsvColumns.TryGetValue(fields[i].Trim(), out var column)) index.TryAdd(column, i);
        var missing = new[] { "id", "name", "price", "url" }.Where(c => !index.ContainsKey(c)).ToList();
        if (missing.Count > 0)
            throw new FeedFormatException(1, $"The header lacks {string.Join(", ", missing)}; columns: id, name, price, currency, url, image, category, availability.");

        while (await lines.NextAsync(ct) is { } line)
        {
            if (line.Text is null) { yield return Broken(line.Number, $"the line is longer than {MaxFieldLength} characters"); continue; }
            if (line.Text.Length == 0) continue;
            if (line.Text.Contains('\uFFFD')) { yield return Broken(line.Number, "the line is not valid UTF-8"); continue; }
            if (!CsvLine.TrySplit(line.Text, fields, out var error, separator)) { yield return Broken(line.Number, error!); continue; }
            string? Get(string c) => index.TryGetValue(c, out var i) && i < fields.Count ? fields[i] : null;
            yield return new RawProduct(line.Number, Get("id"), Get("name"), Get("price"), Get("currency"), Get("url"), Get("image"),
                Get("category"), Get("availability"));
        }
    }

    private static RawProduct Broken(int line, string problem) => new(line, null, null, null, null, null, null, null, null, problem);

    /// Lines of at most `max` characters: a longer one is read to its end and dropped (Text null), so a feed that
    /// is one enormous line costs no more memory than the limit.
    private sealed class BoundedLines(StreamReader reader, int max)
    {
        private readonly char[] _buffer = new char[16 * 1024];
        private int _start, _end, _number;
        private readonly StringBuilder _line = new();

        public readonly record struct Line(int Number, string? Text);

        public async Task<Line?> NextAsync(CancellationToken ct)
        {
            _line.Clear();
            var tooLong = false;
            while (true)
            {
                if (_start == _end)
                {
                    _end = await reader.ReadAsync(_buffer.AsMemory(), ct);
                    _start = 0;
                    if (_end == 0) return _line.Length == 0 && !tooLong ? null : Done(tooLong);
                }
                var span = _buffer.AsSpan(_start, _end - _start);
                var newline = span.IndexOf('\n');
                var part = newline < 0 ? span : span[..newline];
                if (!tooLong && _line.Length + part.Length <= max) _line.Append(part); else tooLong = true;
                _start += newline < 0 ? part.Length : newline + 1;
                if (newline >= 0) return Done(tooLong);
            }
        }

        private Line Done(bool tooLong)
        {
            _number++;
            if (tooLong) return new Line(_number, null);
            if (_line.Length > 0 && _line[^1] == '\r') _line.Length--;
            return new Line(_number, _line.ToString());
        }
    }

    /// The bytes already read to tell the format, then the rest of the stream.
    private sealed class ReplayStream(ReadOnlyMemory<byte> head, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _head = head;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_head.IsEmpty) return rest.Read(buffer);
            var n = Math.Min(buffer.Length, _head.Length);
            _head.Span[..n].CopyTo(buffer);
            _head = _head[n..];
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_head.IsEmpty) return await rest.ReadAsync(buffer, ct);
            return Read(buffer.Span);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
    }
}
