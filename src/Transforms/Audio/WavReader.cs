using System.Buffers.Binary;

namespace MusicGen.Transforms.Audio;

/// <summary>
/// Reads RIFF/WAVE files natively: PCM unsigned 8-bit and signed 16/24/32-bit, IEEE float 32/64-bit, plain and
/// WAVE_FORMAT_EXTENSIBLE headers, chunks in any order with their pad bytes, and RIFF/data sizes of 0xFFFFFFFF
/// (as ffmpeg writes to a pipe: read to the end of the file). Sizes from the header are checked against the file
/// before anything is allocated; a data chunk shorter than its header claims loads what is present, with a warning.
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
        using var stream = File.OpenRead(path);
        return Read(stream, Path.GetFileName(path));
    }

    /// <summary>Reads a WAV file from a seekable stream; <paramref name="name"/> is used in error messages.</summary>
    public static AudioClip Read(Stream stream, string name)
    {
        if (!stream.CanSeek) throw new ArgumentException("The stream must be seekable.", nameof(stream));
        long fileLength = stream.Length;
        Span<byte> header = stackalloc byte[12];
        if (fileLength == 0) throw Bad(name, "file is empty");
        if (stream.ReadAtLeast(header, 12, throwOnEndOfStream: false) < 12 || !LooksLikeWav(header))
            throw Bad(name, "not a RIFF/WAVE file");

        Format? format = null;
        long dataOffset = -1, dataSize = 0;
        Span<byte> chunkHeader = stackalloc byte[8];
        long position = 12;
        while (position + 8 <= fileLength)
        {
            stream.Position = position;
            stream.ReadExactly(chunkHeader);
            string id = System.Text.Encoding.ASCII.GetString(chunkHeader[..4]);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(chunkHeader[4..]);
            long body = position + 8;
            if (id == "fmt ")
            {
                if (size < 16 || body + size > fileLength)
                    throw Bad(name, $"WAV 'fmt ' chunk has a bad size ({size} bytes)");
                var bytes = new byte[Math.Min(size, 64u)];
                stream.ReadExactly(bytes);
                format = ParseFormat(bytes, name);
            }
            else if (id == "data")
            {
                dataOffset = body;
                if (size == 0xFFFFFFFF) { dataSize = fileLength - body; break; } // streamed: read to end of file
                dataSize = size;
                if (body + size >= fileLength) break; // the rest of the file is data (or less: truncated)
            }
            position = body + size + (size & 1); // chunks are padded to even sizes
        }

        if (format is null) throw Bad(name, "no 'fmt ' chunk");
        if (dataOffset < 0) throw Bad(name, "no 'data' chunk");
        var f = format.Value;
        int frameBytes = f.Channels * f.BytesPerSample;
        long claimed = dataSize;
        stream.Position = dataOffset;
        long available = Math.Min(dataSize, fileLength - dataOffset);
        string? warning = null;
        if (available < claimed)
            warning = $"{name}: truncated, header says {claimed} bytes of audio but {available} are present; loaded what is there";
        long frames = available / frameBytes;
        if (frames > int.MaxValue) throw Bad(name, $"too long ({frames} samples per channel)");
        var channels = new float[f.Channels][];
        for (int c = 0; c < f.Channels; c++) channels[c] = new float[frames];
        Decode(stream, f, channels, (int)frames);
        return new AudioClip(f.SampleRate, channels, warning);
    }

    private static void Decode(Stream stream, Format f, float[][] channels, int frames)
    {
        int frameBytes = f.Channels * f.BytesPerSample;
        var buffer = new byte[Math.Max(frameBytes, 1 << 16) / frameBytes * frameBytes];
        int done = 0;
        while (done < frames)
        {
            int want = Math.Min(buffer.Length / frameBytes, frames - done);
            stream.ReadExactly(buffer, 0, want * frameBytes);
            var span = buffer.AsSpan(0, want * frameBytes);
            for (int i = 0; i < want; i++)
            {
                for (int c = 0; c < f.Channels; c++)
                {
                    var s = span.Slice((i * f.Channels + c) * f.BytesPerSample, f.BytesPerSample);
                    channels[c][done + i] = f.IsFloat
                        ? (f.BytesPerSample == 4 ? BinaryPrimitives.ReadSingleLittleEndian(s) : (float)BinaryPrimitives.ReadDoubleLittleEndian(s))
                        : f.BytesPerSample switch
                        {
                            1 => (s[0] - 128) / 128f,
                            2 => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
                            3 => ((s[0] << 8 | s[1] << 16 | s[2] << 24) >> 8) / 8388608f,
                            _ => (float)(BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0),
                        };
                }
            }
            done += want;
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
}
