using AffiliateTracker.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace AffiliateTracker.Tests;

public sealed class FlushLaneTests
{
    [Fact]
    public async Task A_flush_loop_runs_on_one_thread_ten_steps_nicer_than_the_server_across_its_awaits()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var lane = new FlushLane(10, NullLogger<FlushLane>.Instance);
        var seen = new List<(int Thread, int Nice)>();
        await lane.Run(async () =>
        {
            seen.Add((Environment.CurrentManagedThreadId, Nice("/proc/thread-self/stat")));
            await Task.Delay(20);
            seen.Add((Environment.CurrentManagedThreadId, Nice("/proc/thread-self/stat")));
            await Task.Run(() => Thread.Sleep(5));
            seen.Add((Environment.CurrentManagedThreadId, Nice("/proc/thread-self/stat")));
        });
        var server = Nice("/proc/self/stat");
        Assert.Single(seen.Select(s => s.Thread).Distinct());
        Assert.NotEqual(Environment.CurrentManagedThreadId, seen[0].Thread);
        Assert.All(seen, s => Assert.Equal(Math.Min(19, server + 10), s.Nice));
    }

    [Fact]
    public async Task A_loop_that_fails_fails_its_own_task_and_the_lane_runs_the_next()
    {
        using var lane = new FlushLane(0, NullLogger<FlushLane>.Instance);
        var failed = lane.Run(async () => { await Task.Yield(); throw new InvalidOperationException("store down"); });
        Assert.Equal("store down", (await Assert.ThrowsAsync<InvalidOperationException>(() => failed)).Message);
        var ran = false;
        await lane.Run(async () => { await Task.Delay(1); ran = true; });
        Assert.True(ran);
    }

    [Fact]
    public async Task Work_arriving_after_the_lane_is_disposed_still_runs()
    {
        var lane = new FlushLane(0, NullLogger<FlushLane>.Instance);
        lane.Dispose();
        var ran = new TaskCompletionSource();
        lane.Post(_ => ran.SetResult(), null);
        await ran.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(20)]
    public void A_nice_value_outside_0_to_19_is_refused_naming_the_setting(int nice)
    {
        var e = Assert.Throws<InvalidOperationException>(() => new FlushLane(nice, NullLogger<FlushLane>.Instance));
        Assert.Contains("Flushers:Nice", e.Message);
    }

    // Field 19 of /proc/.../stat, counted after the command name's closing parenthesis (a name may hold spaces).
    private static int Nice(string stat)
    {
        var text = File.ReadAllText(stat);
        return int.Parse(text[(text.LastIndexOf(')') + 2)..].Split(' ')[16]);
    }
}
