using System.Threading.Channels;

namespace AffiliateTracker.Storage;

/// Group commit for Redis calls on a request path: callers queue an item and await its result; one loop
/// takes whatever is queued (up to maxBatch) and runs it as one batch while the next batch gathers, so N
/// concurrent postbacks cost a few Redis commands and completions instead of N. A failed batch fails each
/// of its callers with the same exception (a postback then answers 503 and the advertiser retries).
public sealed class RedisBatcher<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<(TItem Item, TaskCompletionSource<TResult> Done)> _queue =
        Channel.CreateUnbounded<(TItem, TaskCompletionSource<TResult>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<IReadOnlyList<TItem>, Task<TResult[]>> _run;
    private readonly int _maxBatch;
    private readonly Task _loop;

    public RedisBatcher(Func<IReadOnlyList<TItem>, Task<TResult[]>> run, int maxBatch = 256)
    {
        _run = run;
        _maxBatch = maxBatch;
        _loop = Task.Run(LoopAsync);
    }

    public Task<TResult> RunAsync(TItem item)
    {
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((item, done))) done.SetException(new ObjectDisposedException(nameof(RedisBatcher<TItem, TResult>)));
        return done.Task;
    }

    private async Task LoopAsync()
    {
        // Up to MaxInFlight batches travel at once, so a caller waits for about one round trip, not for the
        // batch ahead of it too. (Redis runs them in the order sent, so dedupe inside scripts stays exact.)
        var inFlight = new List<Task>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            inFlight.RemoveAll(t => t.IsCompleted);
            if (inFlight.Count >= MaxInFlight)
            {
                await Task.WhenAny(inFlight);
                continue;
            }
            var batch = new List<(TItem Item, TaskCompletionSource<TResult> Done)>();
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var entry)) batch.Add(entry);
            if (batch.Count > 0) inFlight.Add(RunBatchAsync(batch));
        }
        await Task.WhenAll(inFlight);
    }

    private const int MaxInFlight = 4;

    private async Task RunBatchAsync(List<(TItem Item, TaskCompletionSource<TResult> Done)> batch)
    {
        try
        {
            var results = await _run(batch.Select(e => e.Item).ToList());
            for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(results[i]);
        }
        catch (Exception e)
        {
            foreach (var entry in batch) entry.Done.TrySetException(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }
}
