using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AffiliateTracker.Abuse;

/// The connection closed before a single byte of an answer. On a connection that had carried earlier
/// requests this is the keep-alive race every HTTP client retries (the server closed it in between).
public sealed class NoResponseException(bool reused) : EndOfStreamException("Connection closed before a response")
{
    public bool Reused { get; } = reused;
}

/// A response as it came off the wire.
public sealed class RawResponse
{
    public int Status { get; init; }
    public List<KeyValuePair<string, string>> Headers { get; } = [];
    /// The body (the first MaxKeptBody bytes; BodyLength says how long it really was).
    public byte[] Body { get; set; } = [];
    public long BodyLength { get; set; }
    public int Interim { get; set; }
    public bool Close { get; set; }

    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
    public IEnumerable<string> All(string name) => Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);
    public string Text => System.Text.Encoding.UTF8.GetString(Body);
}

/// One HTTP/1.1 connection over a plain socket. HttpClient normalises what it sends (escapes the target,
/// refuses CR/LF in headers, fixes Content-Length); this sends the bytes exactly as generated, so malformed
/// request lines, raw non-ASCII bytes and broken framing reach the server.
public sealed class RawConnection : IDisposable
{
    public const int MaxKeptBody = 256 * 1024;
    private const int MaxHeaderBytes = 256 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    public int Uses { get; private set; }
    /// The request answered last on this connection (what the server saw just before it closed it).
    public string? Last { get; set; }

    private RawConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public static async Task<RawConnection> OpenAsync(EndPoint endPoint, CancellationToken ct)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, ct);
            return new RawConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// Sends the request and reads the final response (skipping 1xx interim answers). The response is
    /// read while the request is still being written, so an early answer (413 to a huge body) is seen
    /// even if the server stops reading and resets the connection.
    public async Task<RawResponse> SendAsync(byte[] request, bool head, CancellationToken ct)
    {
        Uses++;
        var read = ReadResponseAsync(head, ct);
        try
        {
            await _stream.WriteAsync(request, ct);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The server may have answered and closed before taking everything; the answer decides.
        }
        return await read;
    }

    /// Sends the first bytes of a request and closes: a client that gives up half way through a body.
    public async Task AbortAfterAsync(byte[] request, int bytes, CancellationToken ct)
    {
        try
        {
            await _stream.WriteAsync(request.AsMemory(0, Math.Min(bytes, request.Length)), ct);
            await Task.Delay(20, ct);
        }
        catch (Exception e) when (e is IOException or SocketException) { }
        _socket.LingerState = new LingerOption(true, 0); // a reset, as a crashed client leaves it
        Dispose();
    }

    private async Task<RawResponse> ReadResponseAsync(bool head, CancellationToken ct)
    {
        var interim = 0;
        while (true)
        {
            var statusLine = await ReadLineAsync(ct) ?? throw new NoResponseException(Uses > 1 && interim == 0);
            var parts = statusLine.Split(' ', 3);
            if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.") || !int.TryParse(parts[1], out var status))
                throw new InvalidDataException($"Malformed status line: {Trim(statusLine)}");
            var response = new RawResponse { Status = status, Interim = interim };
            var headerBytes = 0;
            while (true)
            {
                var line = await ReadLineAsync(ct) ?? throw new EndOfStreamException("Connection closed in the headers");
                if (line.Length == 0) break;
                headerBytes += line.Length;
                if (headerBytes > MaxHeaderBytes) throw new InvalidDataException("Response headers too large");
                var colon = line.IndexOf(':');
                if (colon <= 0) throw new InvalidDataException($"Malformed response header: {Trim(line)}");
                response.Headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
            }
            if (status is >= 100 and < 200 && status != 101) { interim++; continue; }

            response.Close = response.Header("Connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) == true;
            if (head || status is 204 or 304) return response;
            var body = new MemoryStream();
            if (response.Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
            {
                while (true)
                {
                    var sizeLine = await ReadLineAsync(ct) ?? throw new EndOfStreamException("Connection closed in a chunked body");
                    var semi = sizeLine.IndexOf(';');
                    if (!long.TryParse(semi < 0 ? sizeLine : sizeLine[..semi], System.Globalization.NumberStyles.HexNumber, null, out var size) || size < 0)
                        throw new InvalidDataException($"Malformed chunk size: {Trim(sizeLine)}");
                    if (size == 0)
                    {
                        while ((await ReadLineAsync(ct) ?? "").Length > 0) { } // trailers
                        break;
                    }
                    await ReadBodyAsync(body, size, response, ct);
                    await ReadLineAsync(ct);
                }
            }
            else if (response.Header("Content-Length") is { } cl)
            {
                if (!long.TryParse(cl, out var length) || length < 0) throw new InvalidDataException($"Malformed Content-Length: {cl}");
                await ReadBodyAsync(body, length, response, ct);
            }
            else
            {
                response.Close = true; // HTTP/1.0 style: the body ends when the connection does
                if (_end > _start) Keep(body, _end - _start, response);
                while (await FillAsync(ct)) Keep(body, _end - _start, response);
            }
            response.Body = body.ToArray();
            return response;
        }
    }

    private async Task ReadBodyAsync(MemoryStream body, long length, RawResponse response, CancellationToken ct)
    {
        while (length > 0)
        {
            if (_start == _end && !await FillAsync(ct)) throw new EndOfStreamException("Connection closed in the body");
            var n = (int)Math.Min(length, _end - _start);
            Keep(body, n, response);
            length -= n;
        }
    }

    private void Keep(MemoryStream body, int n, RawResponse response)
    {
        var keep = (int)Math.Max(0, Math.Min(n, MaxKeptBody - body.Length));
        body.Write(_buffer, _start, keep);
        response.BodyLength += n;
        _start += n;
    }

    private async Task<bool> FillAsync(CancellationToken ct)
    {
        if (_start == _end) _start = _end = 0;
        else if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) throw new InvalidDataException("Response line too long");
        var n = await _stream.ReadAsync(_buffer.AsMemory(_end), ct);
        _end += n;
        return n > 0;
    }

    private async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var end = lf > _start && _buffer[lf - 1] == '\r' ? lf - 1 : lf;
                var line = System.Text.Encoding.Latin1.GetString(_buffer, _start, end - _start);
                _start = lf + 1;
                return line;
            }
            if (!await FillAsync(ct)) return null;
        }
    }

    private static string Trim(string s) => s.Length > 120 ? s[..120] + "..." : s;

    public void Dispose() => _stream.Dispose();
}

/// Builds a request byte by byte. Text given here is a byte string: each char is one byte (use
/// WireText.Encode for values), so anything, valid or not, can be sent.
public sealed class RequestBuilder(string method, string target)
{
    private readonly List<string> _headers = [];
    private byte[] _body = [];
    private bool _contentLength = true;

    public string Method { get; } = method;
    public string Target { get; } = target;
    public string Version { get; set; } = "HTTP/1.1";
    public string? Host { get; set; }

    /// A header value held CR, LF or NUL: the server may see more (or fewer) headers than we wrote, and
    /// answer more than once, so the connection is not reused after this request.
    public bool Smuggles { get; private set; }

    public RequestBuilder Header(string name, string value)
    {
        if (value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0) Smuggles = true;
        _headers.Add(name + ": " + value);
        return this;
    }
    /// A header whose value is text: written as raw UTF-8 bytes.
    public RequestBuilder HeaderUtf8(string name, string value) => Header(name, System.Text.Encoding.Latin1.GetString(WireText.Utf8(value)));
    public RequestBuilder RawHeaderLine(string line) { _headers.Add(line); return this; }
    public RequestBuilder Body(byte[] body) { _body = body; return this; }
    public RequestBuilder Body(string utf8) => Body(WireText.Utf8(utf8));
    public RequestBuilder NoContentLength() { _contentLength = false; return this; }
    public int BodyLength => _body.Length;

    public byte[] Build()
    {
        var sb = new StringBuilder(256 + Target.Length);
        sb.Append(Method).Append(' ').Append(Target).Append(' ').Append(Version).Append("\r\n");
        if (Host is not null) sb.Append("Host: ").Append(Host).Append("\r\n");
        foreach (var h in _headers) sb.Append(h).Append("\r\n");
        if (_contentLength && (_body.Length > 0 || Method is "POST" or "PUT" or "PATCH"))
            sb.Append("Content-Length: ").Append(_body.Length).Append("\r\n");
        sb.Append("\r\n");
        var head = System.Text.Encoding.Latin1.GetBytes(sb.ToString());
        if (_body.Length == 0) return head;
        var all = new byte[head.Length + _body.Length];
        head.CopyTo(all, 0);
        _body.CopyTo(all, head.Length);
        return all;
    }
}
