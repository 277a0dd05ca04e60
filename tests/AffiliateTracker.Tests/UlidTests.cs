using AffiliateTracker.Storage;

namespace AffiliateTracker.Tests;

public sealed class UlidTests
{
    [Fact]
    public void Click_id_carries_its_timestamp_to_the_millisecond()
    {
        var now = new DateTimeOffset(2026, 11, 21, 13, 45, 12, 345, TimeSpan.Zero);
        var id = Ulid.New(now);
        Assert.Equal(26, id.Length);
        Assert.True(Ulid.TryGetTimestamp(id, out var ts));
        Assert.Equal(now, ts);
    }

    [Fact]
    public void Click_ids_are_unique_and_sort_by_time()
    {
        var t = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 10_000).Select(_ => Ulid.New(t)).ToHashSet();
        Assert.Equal(10_000, ids.Count);
        Assert.True(string.CompareOrdinal(Ulid.New(t), Ulid.New(t.AddMilliseconds(1))) < 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("01M7Z5J01FC2K56S1833VFEX3")]
    [InlineData("01M7Z5J01FC2K56S1833VFEX3MM")]
    [InlineData("01M7Z5J01FC2K56S1833VFEX3U")] // U is not in the alphabet
    [InlineData("ZZZZZZZZZZZZZZZZZZZZZZZZZZ")] // more than 128 bits
    [InlineData("01M7Z5J01FC2K56S1833VFEX3'")]
    public void Malformed_click_ids_are_rejected(string id) => Assert.False(Ulid.IsValid(id));
}
