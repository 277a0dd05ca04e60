namespace AffiliateTracker.Health;

public sealed class HealthOptions
{
    /// How long a stopping instance keeps serving after /health/ready turned 503, so load balancers (and
    /// Kubernetes endpoints) stop sending it traffic before it closes its listener. 0 locally; deployments
    /// behind a balancer set it to a little more than the balancer's check interval × failures to mark down.
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;
}

/// "Send me no traffic" apart from "restart me": on SIGTERM the instance first reports not ready, waits
/// DrainDelay while still answering whatever arrives, and only then lets the host stop the server and the
/// recorders (which still write everything buffered).
public sealed class Readiness(Microsoft.Extensions.Options.IOptions<HealthOptions> options, ILogger<Readiness> log) : IHostedLifecycleService
{
    private volatile bool _draining;
    public bool Ready => !_draining;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var delay = options.Value.DrainDelay;
        if (delay <= TimeSpan.Zero) return;
        log.LogInformation("Stopping: not ready, draining for {DrainDelay}", delay);
        try { await Task.Delay(delay, cancellationToken); }
        catch (OperationCanceledException) { }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
