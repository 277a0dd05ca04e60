using AffiliateTracker.Clicks;
using AffiliateTracker.Storage;
using Dapper;

namespace AffiliateTracker.IntegrationTests;

/// A tracker whose flusher does not run by itself, with its own Redis streams, so a test can play
/// the part of a crashed flusher and then run flush passes by hand.
public sealed class ManualFlushApp : TrackerApp
{
    private readonly string _prefix = $"t{Guid.NewGuid():N}:";
    protected override string KeyPrefix => _prefix;
    protected override bool FlusherEnabled => false;

    public string Stream => Service<RedisKeys>().ClickStream(0);
    public ClickFlusher Flusher => Service<ClickFlusher>();
}

public sealed class ClickFlushTests(ManualFlushApp app) : IClassFixture<ManualFlushApp>
{
    private static async Task<long> RowsForLink(string code)
    {
        await using var conn = await TrackerApp.DbAsync();
        return await conn.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM clicks c JOIN tracking_links l ON l.id = c.link_id WHERE l.code = @code", new { code });
    }

    private async Task<List<string>> ClickTimes(string code, int times)
    {
        await app.Redis.EnsureGroupAsync(app.Stream, RedisKeys.FlusherGroup);
        var ids = new List<string>();
        for (var i = 0; i < times; i++) ids.Add(TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{code}?sub1=n{i}")));
        return ids;
    }

    [Fact]
    public async Task A_redelivered_stream_batch_writes_no_duplicate_rows()
    {
        var n = await app.CreateNetworkAsync();
        await ClickTimes(n.LinkCode, 5);

        // A flusher reads the batches, writes them, and dies before acknowledging: the same batches are
        // delivered again (here: added again, and also still pending for the dead consumer).
        var delivered = await app.Redis.ReadGroupAsync(app.Stream, RedisKeys.FlusherGroup, "crashed-after-write", 100);
        Assert.NotEmpty(delivered);
        var unique = delivered.SelectMany(e => ClickCodec.DecodeBatch(e.Payload)).ToList();
        await app.Service<ClickStore>().InsertAsync(unique, unique.Select(_ => true).ToArray());
        foreach (var e in delivered) await app.Redis.AddAsync(app.Stream, e.Payload);

        await app.Flusher.FlushOnceAsync(reclaimAfter: TimeSpan.Zero);
        await app.Flusher.FlushOnceAsync(reclaimAfter: TimeSpan.Zero);

        Assert.Equal(5, await RowsForLink(n.LinkCode));
        Assert.Equal(0, (await app.Redis.BacklogAsync(app.Stream)).Length);
        // The reports' rollups counted each click once too.
        await using var conn = await TrackerApp.DbAsync();
        Assert.Equal(5L, await conn.ExecuteScalarAsync<long>("SELECT sum(clicks) FROM click_rollup_hour WHERE offer_id = @OfferId", new { n.OfferId }));
        Assert.Equal(5L, await conn.ExecuteScalarAsync<long>("SELECT sum(clicks) FROM click_rollup_subs WHERE offer_id = @OfferId", new { n.OfferId }));
    }

    [Fact]
    public async Task A_visitors_clicks_in_one_pass_count_once_and_a_decision_already_in_redis_stands()
    {
        var n = await app.CreateNetworkAsync();
        await app.Redis.EnsureGroupAsync(app.Stream, RedisKeys.FlusherGroup);
        var (ua, other) = ($"Mozilla/5.0 repeat-{Guid.NewGuid():N}", $"Mozilla/5.0 once-{Guid.NewGuid():N}");
        var a = new List<string>();
        for (var i = 0; i < 3; i++) a.Add(TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}", ua)));
        var b = TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}", other));
        var c = new List<string>();
        for (var i = 0; i < 3; i++) c.Add(TrackerApp.ClickIdOf(await app.ClickAsync($"/c/{n.LinkCode}", ua + " later")));

        // As if an earlier pass that died before its commit (or a flusher beside this one) had already decided the
        // third visitor: its second click won, so that one is the unique click when the batch is flushed.
        var recorded = (await app.Redis.StreamRangeAsync(app.Stream)).SelectMany(e => ClickCodec.DecodeBatch((byte[])e[RedisStreams.PayloadField]!)).ToList();
        var decided = recorded.Single(r => r.ClickId == c[1]);
        await app.Redis.StringSetAsync(app.Service<RedisKeys>().Visitor(n.OfferId, ClickFlusher.VisitorHash(decided)), c[1], TimeSpan.FromMinutes(5));

        await app.Flusher.FlushOnceAsync(reclaimAfter: TimeSpan.Zero);

        await using var db = await TrackerApp.DbAsync();
        var unique = (await db.QueryAsync<string>("SELECT click_id FROM clicks WHERE offer_id = @OfferId AND is_unique", new { n.OfferId })).ToHashSet();
        Assert.Equal(7L, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM clicks WHERE offer_id = @OfferId", new { n.OfferId }));
        Assert.Equal(new HashSet<string> { a[0], b, c[1] }, unique);
    }

    [Fact]
    public async Task The_rollups_hold_each_flushed_clicks_utc_hour_day_country_and_sub_ids()
    {
        var n = await app.CreateNetworkAsync();
        await ClickTimes(n.LinkCode, 6);
        await app.Flusher.FlushOnceAsync(reclaimAfter: TimeSpan.FromMinutes(5));
        Assert.Equal(6, await RowsForLink(n.LinkCode));

        // Every rollup row equals what grouping the click rows themselves gives, and no group is missing.
        await using var conn = await TrackerApp.DbAsync();
        Assert.Equal(0L, await conn.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM (SELECT date_trunc('hour', created_at, 'UTC') AS hour, count(*) AS clicks,
                                         count(*) FILTER (WHERE is_unique AND NOT is_bot) AS unique_clicks
                                  FROM clicks WHERE offer_id = @OfferId GROUP BY 1) c
            FULL JOIN (SELECT hour, clicks, unique_clicks FROM click_rollup_hour WHERE offer_id = @OfferId) r USING (hour)
            WHERE c.clicks IS DISTINCT FROM r.clicks OR c.unique_clicks IS DISTINCT FROM r.unique_clicks
            """, new { n.OfferId }));
        Assert.Equal(0L, await conn.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM (SELECT (created_at AT TIME ZONE 'UTC')::date AS day, coalesce(country, '') AS country, count(*) AS clicks
                                  FROM clicks WHERE offer_id = @OfferId GROUP BY 1, 2) c
            FULL JOIN (SELECT day, country, clicks FROM click_rollup_country WHERE offer_id = @OfferId) r USING (day, country)
            WHERE c.clicks IS DISTINCT FROM r.clicks
            """, new { n.OfferId }));
        Assert.Equal(0L, await conn.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM (SELECT (created_at AT TIME ZONE 'UTC')::date AS day, coalesce(sub1, '') AS sub1, count(*) AS clicks
                                  FROM clicks WHERE offer_id = @OfferId GROUP BY 1, 2) c
            FULL JOIN (SELECT day, sub1, sum(clicks) AS clicks FROM click_rollup_subs WHERE offer_id = @OfferId GROUP BY 1, 2) r USING (day, sub1)
            WHERE c.clicks IS DISTINCT FROM r.clicks
            """, new { n.OfferId }));
        // Six different sub1 values: six sub rows, each with one click.
        Assert.Equal(6L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM click_rollup_subs WHERE offer_id = @OfferId AND clicks = 1", new { n.OfferId }));
    }

    [Fact]
    public async Task Entries_a_dead_flusher_read_but_never_acknowledged_are_taken_over()
    {
        var n = await app.CreateNetworkAsync();
        var ids = await ClickTimes(n.LinkCode, 3);
        var taken = await app.Redis.ReadGroupAsync(app.Stream, RedisKeys.FlusherGroup, "died-before-ack", 100);
        Assert.NotEmpty(taken);

        // Fresh entries only: nothing new to read, and the dead consumer's entries are not yet idle long enough.
        await app.Flusher.FlushOnceAsync(reclaimAfter: TimeSpan.FromHours(1));
        Assert.Equal(0, await RowsForLink(n.LinkCode));

        await app.Flusher.FlushOnceAsync(reclaimAfter: TimeSpan.Zero);
        Assert.Equal(3, await RowsForLink(n.LinkCode));
        foreach (var id in ids) Assert.NotNull(await TrackerApp.WaitForClickRowAsync(id));
    }

    [Fact]
    public async Task An_entry_the_database_refuses_goes_to_the_dead_letter_stream_and_the_rest_are_written()
    {
        var n = await app.CreateNetworkAsync();
        var good = await ClickTimes(n.LinkCode, 2);
        // A batch PostgreSQL cannot store (a NUL in text), as a client older than the input cleaning could have written.
        var poisoned = new ClickRecord(Ulid.New(DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, n.OfferId, n.PublisherId, null,
            "bad\0sub", null, null, null, null, null, null, "Mozilla/5.0", null, null, false);
        await app.Redis.AddAsync(app.Stream, ClickCodec.EncodeBatch([poisoned with { CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) }]));
        await ClickTimes(n.LinkCode, 1);

        while (await app.Flusher.FlushOnceAsync(TimeSpan.FromMinutes(1)) > 0) { }

        Assert.Equal(3, await RowsForLink(n.LinkCode));
        foreach (var id in good) Assert.NotNull(await TrackerApp.WaitForClickRowAsync(id));
        Assert.Equal(0, (await app.Redis.BacklogAsync(app.Stream)).Length);
        Assert.Equal(1, (await app.Redis.BacklogAsync(app.Stream + ":dead")).Length);
    }

    [Fact]
    public async Task Concurrent_clicks_become_exactly_as_many_rows()
    {
        var n = await app.CreateNetworkAsync();
        const int clicks = 2000;
        var statuses = await Task.WhenAll(Enumerable.Range(0, clicks).Select(async i =>
            (int)(await app.ClickAsync($"/c/{n.LinkCode}?sub2=c{i}", $"Mozilla/5.0 load-{i}")).StatusCode));
        Assert.All(statuses, s => Assert.Equal(302, s));

        while (await app.Flusher.FlushOnceAsync(TimeSpan.FromMinutes(1)) > 0) { }

        Assert.Equal(clicks, await RowsForLink(n.LinkCode));
    }
}
