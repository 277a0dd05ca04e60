namespace AffiliateTracker.Storage;

public static class TimeExtensions
{
    /// Now, at PostgreSQL's precision (microseconds). Times that are stored and compared (the order of a
    /// conversion's history, hold ends) must not round one way on one path and the other way on another.
    public static DateTimeOffset UtcNowForStorage(this TimeProvider time)
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % 10));
    }
}
