using System.Buffers.Binary;
using System.Text;
using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

public class WavReaderTests
{
    /// <summary>Builds a WAV file from a format chunk body and data bytes, with optional extra chunks before the data.</summary>
    private static byte[] Wav(byte[] fmt, byte[] data, uint? dataSizeOverride = null, params (string Id, byte[] Body)[] extra)
    {
        var chunks = new MemoryStream();
        void Chunk(string id, byte[] body, uint? size = null)
        {
            chunks.Write(Encoding.ASCII.GetBytes(id));
            var s = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(s, size ?? (uint)body.Length);
            chunks.Write(s);
            chunks.Write(body);
            if (body.Length % 2 == 1) chunks.WriteByte(0);
        }
        foreach (var (id, body) in extra) Chunk(id, body);
        Chunk("fmt ", fmt);
        Chunk("data", data, dataSizeOverride);
        var all = new MemoryStream();
        all.Write("RIFF"u8);
        var size = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)(4 + chunks.Length));
        all.Write(size);
        all.Write("WAVE"u8);
        chunks.Position = 0;
        chunks.CopyTo(all);
        return all.ToArray();
    }

    private static byte[] Fmt(ushort tag, int channels, int rate, int bits, ushort? subFormat = null)
    {
        var b = new byte[subFormat is null ? 16 : 40];
        BinaryPrimitives.WriteUInt16LittleEndian(b, subFormat is null ? tag : (ushort)0xFFFE);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)rate);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), (uint)(rate * channels * bits / 8));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(12), (ushort)(channels * bits / 8));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(14), (ushort)bits);
        if (subFormat is { } sub)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), 22);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), (ushort)bits);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(24), sub);
        }
        return b;
    }

    private static AudioClip Read(byte[] bytes, string name = "test.wav") => WavReader.Read(new MemoryStream(bytes), name);

    [Fact]
    public void Decodes_known_16_bit_stereo_bytes()
    {
        // Frames (L, R): (0, -32768), (16384, 32767), (-16384, 1)
        byte[] data = [0x00, 0x00, 0x00, 0x80, 0x00, 0x40, 0xFF, 0x7F, 0x00, 0xC0, 0x01, 0x00];
        var clip = Read(Wav(Fmt(1, 2, 44100, 16), data));
        Assert.Equal(44100, clip.SampleRate);
        Assert.Equal(2, clip.ChannelCount);
        Assert.Equal([0f, 0.5f, -0.5f], clip.Channels[0]);
        Assert.Equal([-1f, 32767 / 32768f, 1 / 32768f], clip.Channels[1]);
        Assert.Null(clip.Warning);
    }

    [Fact]
    public void Decodes_unsigned_8_bit_around_128()
    {
        var clip = Read(Wav(Fmt(1, 1, 8000, 8), [128, 0, 255, 64]));
        Assert.Equal([0f, -1f, 127 / 128f, -0.5f], clip.Channels[0]);
    }

    [Fact]
    public void Decodes_24_bit_extensible_with_sign()
    {
        byte[] data = [0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80, 0x00, 0x00, 0x40];
        var clip = Read(Wav(Fmt(1, 1, 48000, 24, subFormat: 1), data));
        Assert.Equal([8388607 / 8388608f, -1f, 0.5f], clip.Channels[0]);
    }

    [Fact]
    public void Keeps_float_values_beyond_full_scale()
    {
        var data = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(data, 1.75f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -3f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(8), 0.25f);
        var clip = Read(Wav(Fmt(3, 1, 44100, 32), data));
        Assert.Equal([1.75f, -3f, 0.25f], clip.Channels[0]);
    }

    [Fact]
    public void Decodes_64_bit_float_and_32_bit_int()
    {
        var d = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(d, -0.125);
        BinaryPrimitives.WriteDoubleLittleEndian(d.AsSpan(8), 0.5);
        Assert.Equal([-0.125f, 0.5f], Read(Wav(Fmt(3, 1, 44100, 64), d)).Channels[0]);
        var i = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(i, int.MinValue / 4);
        Assert.Equal([-0.25f], Read(Wav(Fmt(1, 1, 44100, 32), i)).Channels[0]);
    }

    [Fact]
    public void Skips_other_chunks_with_odd_sizes_and_their_pad_byte()
    {
        var clip = Read(Wav(Fmt(1, 1, 8000, 16), [0x00, 0x40], null, ("LIST", [1, 2, 3]), ("junk", [9])));
        Assert.Equal([0.5f], clip.Channels[0]);
    }

    [Fact]
    public void Reads_to_end_of_file_when_data_size_is_unknown()
    {
        var clip = Read(Wav(Fmt(1, 1, 8000, 16), [0x00, 0x40, 0x00, 0xC0], dataSizeOverride: 0xFFFFFFFF));
        Assert.Equal([0.5f, -0.5f], clip.Channels[0]);
        Assert.Null(clip.Warning);
    }

    [Fact]
    public void Loads_what_a_truncated_file_holds_with_a_warning()
    {
        var clip = Read(Wav(Fmt(1, 1, 8000, 16), [0x00, 0x40, 0x00, 0xC0], dataSizeOverride: 1_000_000), "cut.wav");
        Assert.Equal([0.5f, -0.5f], clip.Channels[0]);
        Assert.Contains("cut.wav: truncated", clip.Warning);
    }

    [Theory]
    [InlineData(0, 8000, 16, "b.wav: WAV 'fmt ' chunk says 0 channels")]
    [InlineData(1, 0, 16, "b.wav: WAV 'fmt ' chunk says 0 Hz")]
    [InlineData(1, 8000, 12, "b.wav: WAV PCM with 12 bits per sample is not supported")]
    public void Rejects_bad_format_chunks_naming_the_file_and_cause(int channels, int rate, int bits, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Read(Wav(Fmt(1, channels, rate, bits), [0, 0, 0, 0]), "b.wav"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Rejects_compressed_wav_encodings()
    {
        var e = Assert.Throws<InvalidDataException>(() => Read(Wav(Fmt(2, 1, 8000, 4), [0, 0]), "adpcm.wav"));
        Assert.Contains("0x0002 is not supported", e.Message);
    }

    [Fact]
    public void Rejects_empty_and_text_files_and_missing_chunks()
    {
        Assert.Equal("e.wav: file is empty", Assert.Throws<InvalidDataException>(() => Read([], "e.wav")).Message);
        Assert.Equal("t.wav: not a RIFF/WAVE file",
            Assert.Throws<InvalidDataException>(() => Read(Encoding.ASCII.GetBytes("This is not audio at all"), "t.wav")).Message);
        var noData = Wav(Fmt(1, 1, 8000, 16), []).AsSpan(0, 12 + 8 + 16).ToArray();
        Assert.Equal("n.wav: no 'data' chunk", Assert.Throws<InvalidDataException>(() => Read(noData, "n.wav")).Message);
    }

    [Fact]
    public void Never_allocates_from_a_size_the_file_cannot_hold()
    {
        // fmt chunk claims 4 GB: rejected before reading it.
        var bytes = Wav(Fmt(1, 1, 8000, 16), [0, 0]);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), 0xFFFFFFF0);
        Assert.Throws<InvalidDataException>(() => Read(bytes));
    }

    [Fact]
    public void Audio_file_names_the_missing_path()
    {
        var e = Assert.Throws<FileNotFoundException>(() => AudioFile.Read("/no/such/song.wav"));
        Assert.Contains("/no/such/song.wav", e.Message);
    }
}
