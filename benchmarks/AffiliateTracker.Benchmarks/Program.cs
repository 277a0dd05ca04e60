using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(AffiliateTracker.Benchmarks.FlushBenchmarks).Assembly).Run(args);
