namespace AffiliateTracker.Storage;

/// Ids of events (postback log entries, conversion events, publisher postbacks) that PostgreSQL keeps in a unique
/// index. Time-ordered (UUID version 7): a new id lands at the index's right edge, where a random one would
/// dirty a random page of a large index on every insert.
public static class EventIds
{
    public static Guid New(DateTimeOffset at) => Guid.CreateVersion7(at);
}
