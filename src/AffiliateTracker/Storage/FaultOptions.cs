namespace AffiliateTracker.Storage;

/// TEST-ONLY fault injection for the fault suite (tests/fault/run.sh). Off by default; never set it in
/// production. Read once at start.
public sealed class FaultOptions
{
    /// `Faults:CrashAfterFlushCommit` = "clicks", "conversions" or "postback-log" (comma-separated for several):
    /// the flusher of that stream kills the process (Environment.FailFast) right after PostgreSQL committed a
    /// batch and before the entries are acknowledged, so the suite can prove the re-delivered batch changes nothing.
    public string? CrashAfterFlushCommit { get; set; }
}
