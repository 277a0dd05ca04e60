using System.Security.Cryptography;

namespace AffiliateTracker.Storage;

/// Random bytes for ids, from the OS CSPRNG 4 KB at a time per thread: one call per ~400 ids instead of one
/// per id. The per-call cost showed in the redirect's profile, and Guid.NewGuid (under Guid.CreateVersion7)
/// is a read of /dev/urandom each time, a system call per postback log entry and per conversion event.
internal static class RandomBytes
{
    [ThreadStatic] private static byte[]? _buffer;
    [ThreadStatic] private static int _used;

    public static void Fill(Span<byte> destination)
    {
        var buffer = _buffer ??= new byte[4096];
        if (_used == 0 || _used + destination.Length > buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            _used = 0;
        }
        var chunk = buffer.AsSpan(_used, destination.Length);
        chunk.CopyTo(destination);
        chunk.Clear(); // never hand out the same bytes twice
        _used += destination.Length;
    }
}
