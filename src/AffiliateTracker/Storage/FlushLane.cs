using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace AffiliateTracker.Storage;

/// The thread the flush loops run on, at a lower OS scheduling priority than the thread pool that answers
/// redirects and postbacks (`Flushers:Nice` steps below the server, 10 by default). A loop's own CPU work
/// (decoding batches, classifying traffic, writing COPY rows) and every continuation after its awaits come back
/// here, so on a busy box the kernel runs the answers first and the flush takes what is left, in larger batches
/// as it falls behind. The entries wait in Redis, durable, meanwhile; at_flush_lag_seconds shows how far behind.
public sealed class FlushLane : SynchronizationContext, IDisposable
{
    private readonly BlockingCollection<(SendOrPostCallback Work, object? State)> _queue = new();
    private readonly ILogger<FlushLane> _log;

    public FlushLane(int nice, ILogger<FlushLane> log)
    {
        if (nice is < 0 or > 19) throw new InvalidOperationException($"Flushers:Nice must be from 0 (the answers' priority) to 19 (the lowest); it is {nice}.");
        _log = log;
        new Thread(() => Drain(nice)) { IsBackground = true, Name = "flush lane" }.Start();
    }

    /// Runs an async loop on the lane; the returned task completes (on the thread pool) when the loop ends.
    public Task Run(Func<Task> loop)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(async _ =>
        {
            try { await loop(); done.TrySetResult(); }
            catch (Exception e) { done.TrySetException(e); }
        }, null);
        return done.Task;
    }

    public override void Post(SendOrPostCallback d, object? state)
    {
        // Once the lane is disposed (the server stopping), work still arriving (a loop that outlived the host's
        // shutdown timeout) finishes on the thread pool rather than failing whoever completed its await.
        try
        {
            _queue.Add((d, state));
        }
        catch (InvalidOperationException) when (_queue.IsAddingCompleted)
        {
            ThreadPool.QueueUserWorkItem(_ => d(state));
        }
    }

    // Nothing waits synchronously on the lane: a blocked caller could be the lane itself.
    public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("The flush lane only takes posted work.");

    public override SynchronizationContext CreateCopy() => this;

    public void Dispose() => _queue.CompleteAdding();

    private void Drain(int nice)
    {
        Lower(nice);
        SetSynchronizationContext(this);
        foreach (var (work, state) in _queue.GetConsumingEnumerable())
        {
            try { work(state); }
            catch (Exception e) { _log.LogCritical(e, "Unhandled exception on the flush lane"); }
        }
    }

    private void Lower(int nice)
    {
        if (nice == 0 || !OperatingSystem.IsLinux()) return;
        try
        {
            // On Linux, PRIO_PROCESS with a thread id reads and sets that one thread's nice value; raising it needs no
            // privilege. Relative to the thread's own, so a server started under `nice` keeps the lane below itself.
            var tid = gettid();
            var target = Math.Min(19, getpriority(0, tid) + nice);
            if (setpriority(0, tid, target) != 0)
                _log.LogWarning("Could not set the flush lane's nice value to {Nice} (errno {Errno})", nice, Marshal.GetLastPInvokeError());
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _log.LogWarning("Could not set the flush lane's nice value to {Nice}: {Reason}", nice, e.Message);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setpriority(int which, int who, int prio);

    [DllImport("libc")]
    private static extern int getpriority(int which, int who);

    [DllImport("libc")]
    private static extern int gettid();
}
