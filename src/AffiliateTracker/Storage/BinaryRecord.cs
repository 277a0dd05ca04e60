using System.Buffers.Binary;
using System.Text;

namespace AffiliateTracker.Storage;

/// The building blocks of the binary records in Redis (clicks, conversion events, postback log entries):
/// little-endian fixed-width numbers, and strings as a varint of (UTF-8 length + 1), 0 meaning null, then the bytes.
public static class BinaryRecord
{
    public static int StringSize(string? s)
    {
        if (s is null) return 1;
        var n = Encoding.UTF8.GetByteCount(s);
        return VarIntSize((uint)n + 1) + n;
    }

    public static int VarIntSize(uint v) { var n = 1; while (v >= 0x80) { v >>= 7; n++; } return n; }
}

public ref struct BinaryRecordWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    public int Position;
    public void Byte(byte b) => _buffer[Position++] = b;
    public void Int32(int v) { BinaryPrimitives.WriteInt32LittleEndian(_buffer[Position..], v); Position += 4; }
    public void Int64(long v) { BinaryPrimitives.WriteInt64LittleEndian(_buffer[Position..], v); Position += 8; }
    public void VarInt(uint v) { while (v >= 0x80) { Byte((byte)(v | 0x80)); v >>= 7; } Byte((byte)v); }
    public void Guid(Guid g) { g.TryWriteBytes(_buffer[Position..]); Position += 16; }
    /// UTC, to the tick: what PostgreSQL keeps (microseconds) survives exactly.
    public void Time(DateTimeOffset t) => Int64(t.UtcTicks);
    public void Decimal(decimal v)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(v, bits);
        for (var i = 0; i < 4; i++) BinaryPrimitives.WriteInt32LittleEndian(_buffer[(Position + 4 * i)..], bits[i]);
        Position += 16;
    }
    public void String(string? s)
    {
        if (s is null) { Byte(0); return; }
        var n = Encoding.UTF8.GetByteCount(s);
        VarInt((uint)n + 1);
        Position += Encoding.UTF8.GetBytes(s, _buffer[Position..]);
    }
}

/// A record cut off before its end reads as a FormatException, like any other malformed record: the flushers treat
/// both as bad data.
public ref struct BinaryRecordReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    public int Position;
    public readonly bool AtEnd => Position >= _data.Length;
    public byte Byte() { Need(1); return _data[Position++]; }
    public int Int32() { Need(4); var v = BinaryPrimitives.ReadInt32LittleEndian(_data[Position..]); Position += 4; return v; }
    public long Int64() { Need(8); var v = BinaryPrimitives.ReadInt64LittleEndian(_data[Position..]); Position += 8; return v; }
    public Guid Guid() { Need(16); var g = new Guid(_data.Slice(Position, 16)); Position += 16; return g; }
    public DateTimeOffset Time()
    {
        var ticks = Int64();
        if (ticks < 0 || ticks > DateTimeOffset.MaxValue.UtcTicks) throw new FormatException("Time out of range in a binary record");
        return new(ticks, TimeSpan.Zero);
    }
    public decimal Decimal()
    {
        Need(16);
        Span<int> bits = stackalloc int[4];
        for (var i = 0; i < 4; i++) bits[i] = BinaryPrimitives.ReadInt32LittleEndian(_data[(Position + 4 * i)..]);
        Position += 16;
        try { return new decimal(bits); }
        catch (ArgumentException e) { throw new FormatException("Malformed decimal in a binary record", e); }
    }
    public ReadOnlySpan<byte> Bytes(int n)
    {
        Need(n);
        var bytes = _data.Slice(Position, n);
        Position += n;
        return bytes;
    }
    public uint VarInt()
    {
        uint v = 0; var shift = 0;
        while (true)
        {
            var b = Byte();
            v |= (uint)(b & 0x7F) << shift;
            if (b < 0x80) return v;
            shift += 7;
            if (shift > 28) throw new FormatException("Malformed length in a binary record");
        }
    }
    public string? String()
    {
        var n = VarInt();
        if (n == 0) return null;
        Need((int)n - 1);
        var s = Encoding.UTF8.GetString(_data.Slice(Position, (int)n - 1));
        Position += (int)n - 1;
        return s;
    }

    private readonly void Need(int bytes)
    {
        if ((uint)bytes > (uint)(_data.Length - Position)) throw new FormatException("Truncated binary record");
    }
}
