using AffiliateTracker.Clicks;
using AffiliateTracker.Conversions;
using AffiliateTracker.Storage;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace AffiliateTracker.Benchmarks;

/// The flush path against a real PostgreSQL: how the flushers write a batch, against one INSERT per row,
/// one multi-row INSERT, and a raw binary COPY into the same table (the baseline: the fastest way in).
/// Each invocation writes BatchSize new rows in one transaction. The Ratio column is time / raw COPY's
/// time, so rows/s as a fraction of raw COPY is 1 / Ratio.
///   AT_BENCH_PG (default: Host=127.0.0.1;Port=15432;Username=affiliatetracker;Database=affiliatetracker_bench_flush)
///   dotnet run -c Release --project benchmarks/AffiliateTracker.Benchmarks -- --filter '*Flush*'
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 10)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class FlushBenchmarks
{
    [Params(100, 1000, 10000)] public int BatchSize;

    private NpgsqlDataSource _db = null!;
    private ClickStore _clicks = null!;
    private long _offer, _advertiser, _publisher;
    private ClickRecord[] _clickBatch = [];
    private bool[] _unique = [];
    private ConversionCreated[] _conversionBatch = [];

    [GlobalSetup]
    public void Setup()
    {
        var cs = Environment.GetEnvironmentVariable("AT_BENCH_PG")
            ?? "Host=127.0.0.1;Port=15432;Username=affiliatetracker;Database=affiliatetracker_bench_flush";
        var builder = new NpgsqlConnectionStringBuilder(cs);
        using (var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(cs) { Database = "postgres" }.ConnectionString))
        {
            admin.Open();
            if (admin.ExecuteScalar<int>("SELECT count(*) FROM pg_database WHERE datname = @d", new { d = builder.Database }) == 0)
                admin.Execute($"CREATE DATABASE \"{builder.Database}\"");
        }
        _db = NpgsqlDataSource.Create(cs);
        new MigrationRunner(_db, NullLogger<MigrationRunner>.Instance).ApplyAsync().GetAwaiter().GetResult();
        using var conn = _db.OpenConnection();
        var now = DateTime.UtcNow;
        for (var i = -1; i <= 1; i++)
            ClickStore.EnsurePartitionAsync(conn, new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(i), default).GetAwaiter().GetResult();
        _advertiser = conn.ExecuteScalar<long>("INSERT INTO advertisers (name) VALUES ('flush bench') RETURNING id");
        _publisher = conn.ExecuteScalar<long>("INSERT INTO publishers (name) VALUES ('flush bench') RETURNING id");
        _offer = conn.ExecuteScalar<long>("""
            INSERT INTO offers (advertiser_id, name, landing_url, currency) VALUES (@a, 'flush bench', 'https://shop.example/', 'USD') RETURNING id
            """, new { a = _advertiser });
        _clicks = new ClickStore(_db);
    }

    // New ids for every invocation: each measures first-time writes, as the flusher's normal case.
    [IterationSetup]
    public void NewRows()
    {
        var now = DateTimeOffset.UtcNow;
        _clickBatch = new ClickRecord[BatchSize];
        _conversionBatch = new ConversionCreated[BatchSize];
        for (var i = 0; i < BatchSize; i++)
        {
            var id = Ulid.New(now);
            _clickBatch[i] = new ClickRecord(id, DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()), _offer, _publisher, null,
                "spring-sale", $"post-{i % 50}", null, null, null, "fb", "203.0.113.9",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
                "https://blog.example/post", "US", false);
            _conversionBatch[i] = new ConversionCreated(Guid.NewGuid(), Ulid.New(now), id, now, _offer, _advertiser, _publisher, "sale",
                "order-" + id, "t:order-" + id, ConversionStatus.Pending, 120.00m, "USD", null, null, 12.00m, 18.00m,
                "spring-sale", null, null, null, null, "fb", "203.0.113.9", "US", [], "postback", now, now.AddDays(30), now, "advertiser:1", null, false);
        }
        _unique = Enumerable.Repeat(true, BatchSize).ToArray();
    }

    // ---- clicks ----

    [Benchmark(Baseline = true), BenchmarkCategory("clicks")]
    public async Task Clicks_raw_binary_copy()
    {
        await using var conn = await _db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var copy = await conn.BeginBinaryImportAsync(
            "COPY clicks (click_id, created_at, offer_id, publisher_id, sub1, sub2, source, ip, user_agent, referrer, country, is_unique, is_bot) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var c in _clickBatch)
            {
                copy.StartRow();
                copy.Write(c.ClickId, NpgsqlDbType.Text); copy.Write(c.CreatedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
                copy.Write(c.OfferId, NpgsqlDbType.Bigint); copy.Write(c.PublisherId, NpgsqlDbType.Bigint);
                copy.Write(c.Sub1!, NpgsqlDbType.Text); copy.Write(c.Sub2!, NpgsqlDbType.Text); copy.Write(c.Source!, NpgsqlDbType.Text);
                copy.Write(System.Net.IPAddress.Parse(c.Ip!), NpgsqlDbType.Inet); copy.Write(c.UserAgent!, NpgsqlDbType.Text);
                copy.Write(c.Referrer!, NpgsqlDbType.Text); copy.Write(c.Country!, NpgsqlDbType.Char);
                copy.Write(true, NpgsqlDbType.Boolean); copy.Write(false, NpgsqlDbType.Boolean);
            }
            await copy.CompleteAsync();
        }
        await tx.CommitAsync();
    }

    /// What the click flusher does: COPY straight into clicks under a savepoint, plus the batch's three rollups
    /// (staging + INSERT .. ON CONFLICT DO NOTHING only for a re-delivered batch).
    [Benchmark, BenchmarkCategory("clicks")]
    public Task Clicks_flusher_write() => _clicks.InsertAsync(_clickBatch, _unique);

    [Benchmark, BenchmarkCategory("clicks")]
    public async Task Clicks_multi_row_insert()
    {
        await using var conn = await _db.OpenConnectionAsync();
        await conn.ExecuteAsync("""
            INSERT INTO clicks (click_id, created_at, offer_id, publisher_id, sub1, sub2, source, ip, user_agent, referrer, country, is_unique, is_bot)
            SELECT id, at, @offer, @publisher, s1, s2, src, ip::inet, ua, ref, 'US', true, false
            FROM unnest(@ids, @ats, @s1, @s2, @src, @ips, @uas, @refs) AS r(id, at, s1, s2, src, ip, ua, ref)
            ON CONFLICT DO NOTHING
            """, new
        {
            offer = _offer, publisher = _publisher,
            ids = _clickBatch.Select(c => c.ClickId).ToArray(), ats = _clickBatch.Select(c => c.CreatedAt.UtcDateTime).ToArray(),
            s1 = _clickBatch.Select(c => c.Sub1).ToArray(), s2 = _clickBatch.Select(c => c.Sub2).ToArray(),
            src = _clickBatch.Select(c => c.Source).ToArray(), ips = _clickBatch.Select(c => c.Ip).ToArray(),
            uas = _clickBatch.Select(c => c.UserAgent).ToArray(), refs = _clickBatch.Select(c => c.Referrer).ToArray(),
        });
    }

    [Benchmark, BenchmarkCategory("clicks")]
    public async Task Clicks_one_insert_per_row()
    {
        await using var conn = await _db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        foreach (var c in _clickBatch)
            await conn.ExecuteAsync("""
                INSERT INTO clicks (click_id, created_at, offer_id, publisher_id, sub1, sub2, source, ip, user_agent, referrer, country, is_unique, is_bot)
                VALUES (@ClickId, @at, @OfferId, @PublisherId, @Sub1, @Sub2, @Source, @Ip::inet, @UserAgent, @Referrer, @Country, true, false)
                ON CONFLICT DO NOTHING
                """, new { c.ClickId, at = c.CreatedAt.UtcDateTime, c.OfferId, c.PublisherId, c.Sub1, c.Sub2, c.Source, c.Ip, c.UserAgent, c.Referrer, c.Country }, tx);
        await tx.CommitAsync();
    }

    // ---- conversions ----

    [Benchmark(Baseline = true), BenchmarkCategory("conversions")]
    public async Task Conversions_raw_binary_copy()
    {
        await using var conn = await _db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await ConversionCopy.WriteAsync(conn, "conversions", _conversionBatch);
        await tx.CommitAsync();
    }

    /// What the conversion flusher does for new conversions: COPY into conversions (each its own first history entry)
    /// under a savepoint (falling back to staging + ON CONFLICT only for a re-delivered batch).
    [Benchmark, BenchmarkCategory("conversions")]
    public async Task Conversions_flusher_write()
    {
        await using var conn = await _db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await ConversionStore.InsertAsync(conn, tx, _conversionBatch);
        await tx.CommitAsync();
    }

    /// The path the flusher takes for a re-delivered batch (and took for every batch before the direct COPY).
    [Benchmark, BenchmarkCategory("conversions")]
    public async Task Conversions_staging_insert_on_conflict()
    {
        await using var conn = await _db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await conn.ExecuteAsync("CREATE TEMP TABLE conversion_staging (LIKE conversions INCLUDING DEFAULTS) ON COMMIT DROP", transaction: tx);
        await ConversionCopy.WriteAsync(conn, "conversion_staging", _conversionBatch);
        await conn.ExecuteAsync($"""
            INSERT INTO conversions ({ConversionCopy.Columns}) SELECT {ConversionCopy.Columns} FROM conversion_staging ON CONFLICT DO NOTHING
            """, transaction: tx);
        await tx.CommitAsync();
    }

    [GlobalCleanup]
    public void Cleanup() => _db.Dispose();
}
