using System.Buffers.Binary;
using MusicGen.Transforms.IO;

namespace MusicGen.Transforms.Audio;

/// <summary>Sample formats <see cref="WavWriter"/> can write.</summary>
public enum WavSampleFormat
{
    /// <summary>16-bit PCM, clipped to full scale.</summary>
    Pcm16,
    /// <summary>24-bit PCM, clipped to full scale.</summary>
    Pcm24,
    /// <summary>32-bit IEEE float, written as is (values beyond +/-1 are kept).</summary>
    Float32,
}

/// <summary>Writes WAV files atomically: to a temporary file beside the target, then renamed over it.</summary>
public static class WavWriter
{
    /// <summary>Writes <paramref name="clip"/> to <paramref name="path"/>. Integer formats clip, never wrap around.</summary>
    public static void Write(string path, AudioClip clip, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        ArgumentNullException.ThrowIfNull(clip);
        AtomicFile.Write(path, tmp =>
        {
            using var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            Write(stream, clip, format);
        });
    }

    /// <summary>Writes <paramref name="clip"/> as a canonical WAV file to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, AudioClip clip, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        int bytes = format switch { WavSampleFormat.Pcm16 => 2, WavSampleFormat.Pcm24 => 3, _ => 4 };
        int channels = clip.ChannelCount;
        long dataSize = (long)clip.Length * channels * bytes;
        if (dataSize + 36 > uint.MaxValue) throw new ArgumentException("The clip is too long for a WAV file.", nameof(clip));
        var header = new byte[44];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)(36 + dataSize));
        "WAVEfmt "u8.CopyTo(header.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(20), (ushort)(format == WavSampleFormat.Float32 ? 3 : 1));
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(22), (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), (uint)clip.SampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), (uint)(clip.SampleRate * channels * bytes));
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(32), (ushort)(channels * bytes));
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(34), (ushort)(bytes * 8));
        "data"u8.CopyTo(header.AsSpan(36));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), (uint)dataSize);
        stream.Write(header);

        var buffer = new byte[4096 * channels * bytes];
        int frame = 0;
        while (frame < clip.Length)
        {
            int n = Math.Min(4096, clip.Length - frame);
            for (int i = 0; i < n; i++)
            {
                for (int c = 0; c < channels; c++)
                {
                    var span = buffer.AsSpan((i * channels + c) * bytes, bytes);
                    float x = clip.Channels[c][frame + i];
                    switch (format)
                    {
                        case WavSampleFormat.Pcm16:
                            BinaryPrimitives.WriteInt16LittleEndian(span, (short)Quantize(x, 32768.0));
                            break;
                        case WavSampleFormat.Pcm24:
                            int v = Quantize(x, 8388608.0);
                            span[0] = (byte)v; span[1] = (byte)(v >> 8); span[2] = (byte)(v >> 16);
                            break;
                        default:
                            BinaryPrimitives.WriteSingleLittleEndian(span, x);
                            break;
                    }
                }
            }
            stream.Write(buffer, 0, n * channels * bytes);
            frame += n;
        }
    }

    /// <summary>Scales to integer full scale, rounds and clips to [-fullScale, fullScale - 1]; NaN becomes 0.</summary>
    internal static int Quantize(float x, double fullScale)
    {
        if (float.IsNaN(x)) return 0;
        double v = Math.Round(x * fullScale);
        return (int)Math.Clamp(v, -fullScale, fullScale - 1);
    }
}
