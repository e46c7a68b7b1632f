using System.Buffers.Binary;

namespace MusicGen.Transforms.Audio;

/// <summary>
/// Reads RIFF/WAVE files natively: PCM unsigned 8-bit and signed 16/24/32-bit, IEEE float 32/64-bit, plain and
/// WAVE_FORMAT_EXTENSIBLE headers, chunks in any order with their pad bytes, and RIFF/data sizes of 0xFFFFFFFF
/// (as ffmpeg writes to a pipe: read to the end of the stream). Works on pipes too (no seeking). Nothing is allocated
/// from a size the header claims: samples are read as they come, and a data chunk shorter than its header claims loads
/// what is present, with a warning.
/// </summary>
public static class WavReader
{
    private const ushort FormatPcm = 1;
    private const ushort FormatFloat = 3;
    private const ushort FormatExtensible = 0xFFFE;

    /// <summary>True when the first bytes look like a RIFF/WAVE (or RF64) header.</summary>
    public static bool LooksLikeWav(ReadOnlySpan<byte> head) =>
        head.Length >= 12 && (head[..4].SequenceEqual("RIFF"u8) || head[..4].SequenceEqual("RF64"u8)) && head[8..12].SequenceEqual("WAVE"u8);

    /// <summary>Reads a WAV file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a WAV file this reader can decode; the message names the file and the cause.</exception>
    public static AudioClip Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, Path.GetFileName(path));
    }

    /// <summary>Reads a WAV file from a stream (seekable or not); <paramref name="name"/> is used in messages.</summary>
    public static AudioClip Read(Stream stream, string name)
    {
        SampleSink? sink = null;
        var info = Parse(stream, name, (f, capacity) => sink = new SampleSink(f.Channels, capacity));
        return new AudioClip(info.SampleRate, sink!.ToArrays(), info.Warning) { Encoding = info.Encoding };
    }

    /// <summary>
    /// Reads a WAV stream block by block, never holding more than <paramref name="blockFrames"/> frames:
    /// <paramref name="onBlock"/> gets planar samples (one array per channel, reused from call to call), how many
    /// frames they hold, and the sample rate.
    /// </summary>
    public static AudioStreamInfo ReadBlocks(Stream stream, string name, Action<float[][], int, int> onBlock, int blockFrames = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(onBlock);
        BlockSink? sink = null;
        var info = Parse(stream, name, (f, _) => sink = new BlockSink(f.Channels, blockFrames, (block, frames) => onBlock(block, frames, f.SampleRate)));
        return info;
    }

    /// <summary>
    /// Parses the chunks and reads the samples into the sink that <paramref name="makeSink"/> makes for the format,
    /// given how many frames the file can hold (a hint: pipes do not say).
    /// </summary>
    private static AudioStreamInfo Parse(Stream stream, string name, Func<Format, int, ISampleSink> makeSink)
    {
        var reader = new ChunkReader(stream);
        Span<byte> header = stackalloc byte[12];
        int got = reader.Read(header);
        if (got == 0) throw Bad(name, "file is empty");
        if (got < 12 || !LooksLikeWav(header)) throw Bad(name, "not a RIFF/WAVE file");

        Format? format = null;
        long deferredData = -1; // a data chunk met before 'fmt ' in a seekable stream
        uint deferredSize = 0;
        Span<byte> chunkHeader = stackalloc byte[8];
        while (reader.Read(chunkHeader) == 8)
        {
            string id = System.Text.Encoding.ASCII.GetString(chunkHeader[..4]);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(chunkHeader[4..]);
            if (id == "fmt ")
            {
                if (size < 16 || size > 1024 || (reader.Remaining is { } left && size > left))
                    throw Bad(name, $"WAV 'fmt ' chunk has a bad size ({size} bytes)");
                var bytes = new byte[size];
                if (reader.Read(bytes) < size) throw Bad(name, "WAV 'fmt ' chunk is cut off");
                format = ParseFormat(bytes, name);
                reader.Skip(size & 1);
                if (deferredData >= 0)
                {
                    reader.SeekTo(deferredData);
                    return ReadData(reader, format.Value, deferredSize, name, makeSink);
                }
            }
            else if (id == "data")
            {
                if (format is { } f) return ReadData(reader, f, size, name, makeSink);
                if (!reader.CanSeek || size == 0xFFFFFFFF) throw Bad(name, "WAV 'data' chunk comes before the 'fmt ' chunk");
                deferredData = reader.Position;
                deferredSize = size;
                reader.Skip(size + (size & 1L));
            }
            else
            {
                reader.Skip(size + (size & 1L));
            }
        }
        throw Bad(name, format is null ? "no 'fmt ' chunk" : "no 'data' chunk");
    }

    private static AudioStreamInfo ReadData(ChunkReader reader, Format f, uint size, string name, Func<Format, int, ISampleSink> makeSink)
    {
        bool toEnd = size == 0xFFFFFFFF;
        long claimed = toEnd ? long.MaxValue : size;
        int frameBytes = f.Channels * f.BytesPerSample;
        // Preallocate only what the file can hold; grow otherwise (pipes).
        long capacity = Math.Min(claimed, reader.Remaining ?? (1L << 20)) / frameBytes;
        var sink = makeSink(f, (int)Math.Min(capacity, int.MaxValue / 2));
        var buffer = new byte[Math.Max(frameBytes, 1 << 16) / frameBytes * frameBytes];
        long read = 0;
        int carry = 0;
        while (read < claimed)
        {
            int want = (int)Math.Min(buffer.Length - carry, claimed - read);
            int n = reader.Read(buffer.AsSpan(carry, want));
            if (n == 0) break;
            read += n;
            int usable = (carry + n) / frameBytes * frameBytes;
            Decode(buffer.AsSpan(0, usable), f, sink);
            carry = carry + n - usable;
            buffer.AsSpan(usable, carry).CopyTo(buffer);
            if (sink.Frames > int.MaxValue / 2 && sink is SampleSink) throw Bad(name, "too long to load at once");
        }
        sink.Finish();
        string? warning = !toEnd && read < claimed && reader.CanSeek
            ? $"{name}: truncated, header says {claimed} bytes of audio but {read} are present; loaded what is there"
            : null;
        string encoding = f.IsFloat ? $"float {f.BytesPerSample * 8}-bit" : f.BytesPerSample == 1 ? "PCM unsigned 8-bit" : $"PCM {f.BytesPerSample * 8}-bit";
        return new AudioStreamInfo(f.SampleRate, f.Channels, sink.Frames, encoding, warning);
    }

    private static void Decode(ReadOnlySpan<byte> bytes, Format f, ISampleSink sink)
    {
        int b = f.BytesPerSample, channels = f.Channels;
        int frames = bytes.Length / (channels * b);
        var planes = sink.Reserve(frames, out int at);
        for (int c = 0; c < channels; c++)
        {
            var plane = planes[c].AsSpan(at, frames);
            int stride = channels * b;
            var src = bytes[(c * b)..];
            // One loop per sample format, so the inner loop has no branches.
            switch (b, f.IsFloat)
            {
                case (1, false):
                    for (int i = 0; i < frames; i++) plane[i] = (src[i * stride] - 128) / 128f;
                    break;
                case (2, false):
                    for (int i = 0; i < frames; i++) plane[i] = BinaryPrimitives.ReadInt16LittleEndian(src[(i * stride)..]) / 32768f;
                    break;
                case (3, false):
                    for (int i = 0; i < frames; i++)
                    {
                        int o = i * stride;
                        plane[i] = ((src[o] << 8 | src[o + 1] << 16 | src[o + 2] << 24) >> 8) / 8388608f;
                    }
                    break;
                case (4, false):
                    for (int i = 0; i < frames; i++) plane[i] = (float)(BinaryPrimitives.ReadInt32LittleEndian(src[(i * stride)..]) / 2147483648.0);
                    break;
                case (4, true):
                    for (int i = 0; i < frames; i++) plane[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(i * stride)..]);
                    break;
                default:
                    for (int i = 0; i < frames; i++) plane[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(i * stride)..]);
                    break;
            }
        }
    }

    private static Format ParseFormat(ReadOnlySpan<byte> b, string name)
    {
        ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(b);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        int rate = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(b[4..]), int.MaxValue);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(b[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(b[14..]);
        if (tag == FormatExtensible)
        {
            if (b.Length < 40) throw Bad(name, "WAV 'fmt ' chunk is WAVE_FORMAT_EXTENSIBLE but too short");
            tag = BinaryPrimitives.ReadUInt16LittleEndian(b[24..]); // first two bytes of the sub-format GUID
        }
        if (channels == 0) throw Bad(name, "WAV 'fmt ' chunk says 0 channels");
        if (rate == 0) throw Bad(name, "WAV 'fmt ' chunk says 0 Hz");
        bool isFloat = tag == FormatFloat;
        if (tag != FormatPcm && !isFloat)
            throw Bad(name, $"WAV encoding 0x{tag:X4} is not supported (PCM and IEEE float are)");
        bool ok = isFloat ? bits is 32 or 64 : bits is 8 or 16 or 24 or 32;
        if (!ok) throw Bad(name, $"WAV {(isFloat ? "float" : "PCM")} with {bits} bits per sample is not supported");
        int bytes = bits / 8;
        if (blockAlign != 0 && blockAlign != bytes * channels)
            throw Bad(name, $"WAV 'fmt ' chunk block align {blockAlign} does not match {channels} x {bits}-bit samples");
        return new Format(channels, rate, bytes, isFloat);
    }

    private static InvalidDataException Bad(string name, string cause) => new($"{name}: {cause}");

    private readonly record struct Format(int Channels, int SampleRate, int BytesPerSample, bool IsFloat);

    /// <summary>Sequential reading with skips that seek when the stream can, and read past otherwise.</summary>
    private sealed class ChunkReader(Stream stream)
    {
        private long position;

        public bool CanSeek => stream.CanSeek;

        public long Position => position;

        /// <summary>Bytes left in a seekable stream; null for pipes.</summary>
        public long? Remaining => stream.CanSeek ? stream.Length - position : null;

        public int Read(Span<byte> buffer)
        {
            int n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            position += n;
            return n;
        }

        public void Skip(long count)
        {
            if (count <= 0) return;
            if (stream.CanSeek)
            {
                position = Math.Min(position + count, stream.Length);
                stream.Position = position;
                return;
            }
            var scratch = new byte[(int)Math.Min(count, 1 << 16)];
            while (count > 0)
            {
                int n = Read(scratch.AsSpan(0, (int)Math.Min(count, scratch.Length)));
                if (n == 0) return;
                count -= n;
            }
        }

        public void SeekTo(long offset)
        {
            stream.Position = offset;
            position = offset;
        }
    }

    /// <summary>Where decoded frames go: <see cref="Reserve"/> gives room for some frames in planar arrays.</summary>
    private interface ISampleSink
    {
        /// <summary>Frames received so far.</summary>
        long Frames { get; }

        /// <summary>Planar arrays with room for <paramref name="frames"/> frames from index <paramref name="at"/>.</summary>
        float[][] Reserve(int frames, out int at);

        /// <summary>Called once after the last frame.</summary>
        void Finish();
    }

    /// <summary>Planar sample arrays that grow as frames arrive.</summary>
    private sealed class SampleSink(int channels, int capacity) : ISampleSink
    {
        private float[][] data = Enumerable.Range(0, channels).Select(_ => new float[Math.Max(capacity, 16)]).ToArray();

        public long Frames => Length;

        public int Length { get; private set; }

        public float[][] Reserve(int frames, out int at)
        {
            at = Length;
            if (Length + frames > data[0].Length)
            {
                int size = Math.Max(Length + frames, data[0].Length * 2);
                for (int c = 0; c < data.Length; c++) Array.Resize(ref data[c], size);
            }
            Length += frames;
            return data;
        }

        public void Finish()
        {
        }

        public float[][] ToArrays()
        {
            for (int c = 0; c < data.Length; c++)
                if (data[c].Length != Length) Array.Resize(ref data[c], Length);
            return data;
        }
    }

    /// <summary>Fixed planar blocks handed to a consumer whenever the next frames would not fit.</summary>
    private sealed class BlockSink(int channels, int blockFrames, Action<float[][], int> onBlock) : ISampleSink
    {
        private readonly float[][] block = Enumerable.Range(0, channels).Select(_ => new float[Math.Max(blockFrames, 1 << 16)]).ToArray();
        private int filled;

        public long Frames { get; private set; }

        public float[][] Reserve(int frames, out int at)
        {
            if (filled + frames > block[0].Length) Flush();
            at = filled;
            filled += frames;
            Frames += frames;
            return block;
        }

        public void Finish() => Flush();

        private void Flush()
        {
            if (filled > 0) onBlock(block, filled);
            filled = 0;
        }
    }
}

/// <summary>What a streamed audio file turned out to hold.</summary>
/// <param name="SampleRate">Samples per second.</param>
/// <param name="Channels">Channel count.</param>
/// <param name="Frames">Frames (samples per channel) read.</param>
/// <param name="Encoding">How the samples were stored, or which decoder produced them.</param>
/// <param name="Warning">A warning about the file (truncation, the decoder's own), or null.</param>
public sealed record AudioStreamInfo(int SampleRate, int Channels, long Frames, string? Encoding, string? Warning)
{
    /// <summary>Length in seconds.</summary>
    public double Seconds => (double)Frames / SampleRate;
}
