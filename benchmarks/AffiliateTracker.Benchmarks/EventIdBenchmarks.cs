using AffiliateTracker.Storage;
using BenchmarkDotNet.Attributes;

namespace AffiliateTracker.Benchmarks;

/// A postback makes two event ids (its log entry and its conversion event): the runtime's version 7 uuid reads
/// /dev/urandom for each, EventIds.New draws from a per-thread buffer.
[MemoryDiagnoser]
public class EventIdBenchmarks
{
    [Benchmark(Baseline = true)] public Guid RuntimeCreateVersion7() => Guid.CreateVersion7(DateTimeOffset.UtcNow);
    [Benchmark] public Guid EventIdsNew() => EventIds.New(DateTimeOffset.UtcNow);
}
