using AffiliateTracker.Storage;
using AffiliateTracker.Clicks;

namespace AffiliateTracker.Tests;

public sealed class ClickCodecTests
{
    private static ClickRecord Sample(string sub1 = "café & x=y") => new(
        Ulid.New(DateTimeOffset.UtcNow), DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_123), 42, 7, 99,
        sub1, null, "日本", "", "s5", "fb", "203.0.113.9", "Mozilla/5.0 Firefox", "https://blog.example/post", "US", true);

    [Fact]
    public void Full_record_round_trips_every_field()
    {
        var c = Sample();
        Assert.Equal(c, ClickCodec.Decode(ClickCodec.Encode(c)));
    }

    [Fact]
    public void Compact_record_drops_only_user_agent_and_referrer()
    {
        var c = Sample();
        var compact = ClickCodec.Decode(ClickCodec.Encode(c, compact: true));
        Assert.Equal(c with { UserAgent = null, Referrer = null }, compact);
        Assert.True(ClickCodec.Encode(c, compact: true).Length < ClickCodec.Encode(c).Length);
    }

    [Fact]
    public void A_batch_decodes_to_the_same_clicks_in_order()
    {
        var clicks = Enumerable.Range(0, 50).Select(i => Sample($"sub-{i}") with { LinkId = i % 2 == 0 ? null : i }).ToList();
        Assert.Equal(clicks, ClickCodec.DecodeBatch(ClickCodec.EncodeBatch(clicks)));
    }

    [Fact]
    public void Deep_link_and_smart_link_round_trip_in_full_records_only()
    {
        var c = Sample() with { DeepLink = "https://shop.example/p/1?x=2", DeepLinkRefused = false, SmartLinkId = 12, SmartRule = 3 };
        var refused = Sample() with { DeepLinkRefused = true };
        Assert.Equal(c, ClickCodec.Decode(ClickCodec.Encode(c)));
        Assert.Equal(refused, ClickCodec.Decode(ClickCodec.Encode(refused)));
        Assert.Equal(c with { UserAgent = null, Referrer = null, DeepLink = null, SmartLinkId = null, SmartRule = null },
            ClickCodec.Decode(ClickCodec.Encode(c, compact: true)));
    }

    [Fact]
    public void A_version_1_record_still_reads()
    {
        // A v2 record without deep or smart link is a v1 record plus one empty string at the end.
        var c = Sample();
        var v2 = ClickCodec.Encode(c);
        var v1 = v2[..^1];
        v1[0] = 1;
        Assert.Equal(c, ClickCodec.Decode(v1));
    }

    [Fact]
    public void A_long_user_agent_round_trips()
    {
        var c = Sample() with { UserAgent = new string('u', 5000) };
        Assert.Equal(c, ClickCodec.Decode(ClickCodec.Encode(c)));
    }

    [Fact]
    public void An_unknown_version_is_refused()
    {
        var bytes = ClickCodec.Encode(Sample());
        bytes[0] = 9;
        Assert.Throws<FormatException>(() => ClickCodec.Decode(bytes));
    }
}
