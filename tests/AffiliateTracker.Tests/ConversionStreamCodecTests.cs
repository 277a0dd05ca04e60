using System.Text.Json;
using AffiliateTracker.Conversions;
using AffiliateTracker.Storage;

namespace AffiliateTracker.Tests;

/// The binary forms of a new conversion and of postback log batches in their Redis streams.
public sealed class ConversionStreamCodecTests
{
    private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 12, 4, 19, 30, 15, TimeSpan.Zero).AddTicks(1234560);

    // What the stream carried before the binary forms: the records' JSON, snake_case.
    private static readonly JsonSerializerOptions OldJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static ConversionCreated Conversion(decimal? amount = 120.5m, decimal? original = 131.25m, string[]? flags = null, bool awaiting = true) => new(
        EventIds.New(Now), Ulid.New(Now), Ulid.New(Now.AddMinutes(-9)), Now.AddMinutes(-9).AddTicks(-7), 42, 7, 1_000_000_000_003,
        "sale", "order-ü-17", "t:order-ü-17", "pending", amount, "EUR", original, original is null ? null : "USD", 12.0500m, 15.1m,
        "café & x=y", null, "日本", "", "s5", "fb", "2001:db8::9", "DE",
        flags ?? ["too_fast", "datacenter"], "pixel", Now, Now.AddDays(30), Now, "pixel", "browser said so", awaiting,
        flags is [] ? null : "203.0.113.8", flags is [] ? null : "offer_id=42&txid=order-%C3%BC-17&amount=120.5");

    private static void AssertSame(ConversionCreated expected, ConversionCreated actual)
    {
        Assert.Equal(expected.Flags, actual.Flags);
        Assert.Equal(expected with { Flags = [] }, actual with { Flags = [] });
    }

    [Fact]
    public void A_new_conversion_round_trips_every_field()
    {
        var c = Conversion();
        AssertSame(c, ConversionCodec.Decode(ConversionCodec.Encode(c)));
        var plain = Conversion(amount: null, original: null, flags: [], awaiting: false);
        AssertSame(plain, ConversionCodec.Decode(ConversionCodec.Encode(plain)));
    }

    [Fact]
    public void A_new_conversion_written_as_json_before_the_upgrade_still_reads()
    {
        var c = Conversion();
        AssertSame(c, ConversionCodec.Decode(JsonSerializer.SerializeToUtf8Bytes(c, OldJson)));
    }

    [Fact]
    public void A_new_conversion_written_before_it_carried_its_postbacks_address_and_parameters_still_reads()
    {
        // Version 1 ended after the reason; version 2 adds the postback's address and parameters.
        var c = Conversion() with { PostbackIp = null, PostbackQuery = null };
        var v2 = ConversionCodec.Encode(c);
        var v1 = v2[..^(2 * BinaryRecord.StringSize(null))];
        v1[0] = 1;
        AssertSame(c, ConversionCodec.Decode(v1));
    }

    [Fact]
    public void The_binary_form_is_far_smaller_than_the_json()
    {
        var c = Conversion();
        Assert.True(ConversionCodec.Encode(c).Length * 2 < JsonSerializer.SerializeToUtf8Bytes(c, OldJson).Length);
    }

    [Fact]
    public void A_cut_off_or_unknown_record_is_refused_as_bad_data()
    {
        var bytes = ConversionCodec.Encode(Conversion());
        Assert.Throws<FormatException>(() => ConversionCodec.Decode(bytes[..^20]));
        bytes[0] = 9;
        Assert.Throws<FormatException>(() => ConversionCodec.Decode(bytes));
        Assert.Throws<FormatException>(() => PostbackLogCodec.DecodeBatch(PostbackLogCodec.EncodeBatch(LogEntries())[..^3]));
    }

    // A "cb" entry as the creation script writes it with Lua's struct.pack('<i4', ...): flags, then the record.
    private static byte[] ScriptBatch(params (string Flags, byte[] Record)[] made)
    {
        var bytes = new List<byte>();
        foreach (var (flags, record) in made)
        {
            Length(flags.Length);
            bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(flags));
            Length(record.Length);
            bytes.AddRange(record);
        }
        return [.. bytes];

        void Length(int n)
        {
            var le = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(le, n);
            bytes.AddRange(le);
        }
    }

    [Fact]
    public void A_creation_script_batch_reads_each_conversion_with_the_flags_redis_counted_in_order()
    {
        var first = Conversion();
        var second = Conversion(amount: null, original: null, flags: [], awaiting: false) with { Txid = "order-18" };
        var read = ConversionCodec.DecodeBatch(ScriptBatch(("over_cap,ip_velocity", ConversionCodec.Encode(first)), ("", ConversionCodec.Encode(second))));
        Assert.Equal(["over_cap,ip_velocity", ""], read.Select(r => r.Flags));
        AssertSame(first, read[0].Conversion);
        AssertSame(second, read[1].Conversion);
        Assert.Empty(ConversionCodec.DecodeBatch([]));
        Assert.Throws<FormatException>(() => ConversionCodec.DecodeBatch(ScriptBatch(("", ConversionCodec.Encode(first)))[..^5]));
    }

    private static List<PostbackLogEntry> LogEntries() =>
    [
        new(EventIds.New(Now), Now, "postback", 7, 42, "01KBX", "order-17", "sale", "created", 200, "Conversion recorded.", "01KBY", "203.0.113.9",
            "click_id=01KBX&txid=order-17&amount=12.50"),
        new(EventIds.New(Now), Now.AddTicks(10), "pixel", null, null, null, null, null, "unknown_click", 404, null, null, null, ""),
    ];

    [Fact]
    public void A_postback_log_batch_round_trips_in_order()
    {
        var entries = LogEntries();
        Assert.Equal(entries, PostbackLogCodec.DecodeBatch(PostbackLogCodec.EncodeBatch(entries)));
        Assert.Empty(PostbackLogCodec.DecodeBatch(PostbackLogCodec.EncodeBatch([])));
    }

    [Fact]
    public void A_postback_log_batch_written_as_json_before_the_upgrade_still_reads()
    {
        var entries = LogEntries();
        Assert.Equal(entries, PostbackLogCodec.DecodeBatch(JsonSerializer.SerializeToUtf8Bytes(entries, OldJson)));
    }

    [Fact]
    public void Event_ids_follow_time_in_the_order_PostgreSQL_compares_them()
    {
        // PostgreSQL orders uuids by their bytes as written (big-endian), so later ids append to the unique index.
        var ids = Enumerable.Range(0, 50).Select(i => EventIds.New(Now.AddMilliseconds(i))).ToList();
        var bytes = ids.Select(g => Convert.ToHexString(g.ToByteArray(bigEndian: true))).ToList();
        Assert.Equal(bytes.Order(StringComparer.Ordinal), bytes);
    }

    [Fact]
    public void Event_ids_are_rfc_9562_version_7_uuids_carrying_their_millisecond_and_never_repeat()
    {
        var ids = Enumerable.Range(0, 5000).Select(_ => EventIds.New(Now)).ToList();
        Assert.All(ids, id =>
        {
            Assert.Equal(7, id.Version);
            Assert.InRange(id.Variant, 0x8, 0xB); // the RFC 9562 variant, 10xx
            var b = id.ToByteArray(bigEndian: true);
            Assert.Equal(Now.ToUnixTimeMilliseconds(), b.Take(6).Aggregate(0L, (ms, x) => (ms << 8) | x));
        });
        Assert.Equal(ids.Count, ids.Distinct().Count());
        // The same layout as the runtime's own version 7 ids.
        var runtime = Guid.CreateVersion7(Now);
        Assert.Equal((runtime.Version, runtime.Variant >> 2), (ids[0].Version, ids[0].Variant >> 2));
    }
}
