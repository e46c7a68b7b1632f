using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

/// <summary>Compressed formats, made by the test with ffmpeg from a known WAV, recognised by content and decoded.</summary>
public class AudioFileTests
{
    [TheoryNeeding("ffmpeg")]
    [InlineData("song.mp3", "libmp3lame", AudioContainer.Mp3, 44100)]
    [InlineData("song.flac", "flac", AudioContainer.Flac, 44100)]
    [InlineData("song.ogg", "libvorbis", AudioContainer.Ogg, 44100)]
    [InlineData("song.opus", "libopus", AudioContainer.Ogg, 48000)]
    [InlineData("song.m4a", "aac", AudioContainer.Mp4, 44100)]
    [InlineData("song-alac.m4a", "alac", AudioContainer.Mp4, 44100)]
    [InlineData("mp3-named.wav", "libmp3lame", AudioContainer.Mp3, 44100)]
    public void Decodes_compressed_formats_by_content(string name, string codec, AudioContainer container, int rate)
    {
        using var temp = new TempFolder();
        string wav = temp.File("src.wav");
        var clip = TestAudio.Melody(44100, 2, 2);
        WavWriter.Write(wav, clip);
        string path = temp.File(name);
        string format = name.EndsWith(".wav", StringComparison.Ordinal) ? "mp3" : name.EndsWith(".opus", StringComparison.Ordinal) ? "ogg" : Path.GetExtension(name).TrimStart('.') == "m4a" ? "ipod" : Path.GetExtension(name).TrimStart('.');
        TestAudio.Ffmpeg("-i", wav, "-c:a", codec, "-f", format, path);

        Span<byte> head = stackalloc byte[16];
        using (var s = File.OpenRead(path)) s.ReadExactly(head);
        Assert.Equal(container, AudioFile.Detect(head));
        var decoded = AudioFile.Read(path);
        Assert.Equal(rate, decoded.SampleRate);
        Assert.Equal(2, decoded.ChannelCount);
        Assert.InRange(decoded.Seconds, 1.9, 2.2);
        // Lossy codecs shift and smooth; the level (RMS) must survive within 1 dB.
        static double Rms(float[] x) => Math.Sqrt(x.Average(v => (double)v * v));
        Assert.InRange(20 * Math.Log10(Rms(decoded.Channels[0]) / Rms(clip.Channels[0])), -1, 1);
    }

    [FactNeeding("ffmpeg")]
    public void An_excerpt_is_decoded_from_its_start_only()
    {
        using var temp = new TempFolder();
        string wav = temp.File("src.wav");
        var clip = TestAudio.Melody(44100, 3, 1);
        WavWriter.Write(wav, clip, WavSampleFormat.Float32);
        TestAudio.Ffmpeg("-i", wav, "-c:a", "flac", temp.File("a.flac"));
        foreach (var path in new[] { wav, temp.File("a.flac") })
        {
            var part = AudioFile.Read(path, 1.5, 1.0);
            Assert.Equal(44100, part.Length);
            // FLAC is lossless and the seek sample-exact: the excerpt is the original's samples 1.5 s on (16-bit rounding).
            for (int i = 0; i < part.Length; i += 97) Assert.InRange(part.Channels[0][i] - clip.Channels[0][66150 + i], -1e-4, 1e-4);
            Assert.Equal(clip.Length - 66150, AudioFile.Read(path, 1.5, null).Length);
        }
        var e = Assert.Throws<InvalidDataException>(() => AudioFile.Read(temp.File("a.flac"), 99, 1));
        Assert.Equal("a.flac: no audio after 99 s (the file is shorter)", e.Message);
    }

    [FactNeeding("ffmpeg", "ffprobe")]
    public void Inspection_names_the_codec_inside_the_container()
    {
        using var temp = new TempFolder();
        string wav = temp.File("src.wav");
        WavWriter.Write(wav, TestAudio.Melody(44100, 1, 2));
        TestAudio.Ffmpeg("-i", wav, "-c:a", "alac", temp.File("a.m4a"));
        TestAudio.Ffmpeg("-i", wav, "-c:a", "aac", temp.File("b.m4a"));
        var table = AudioDataset.Inspect([temp.File("a.m4a"), temp.File("b.m4a"), wav]);
        Assert.Equal(["Mp4", "Mp4", "Wav"], Enumerable.Range(0, 3).Select(i => (string)table["Container"][i]));
        Assert.Equal(["alac", "aac", "PCM 16-bit"], Enumerable.Range(0, 3).Select(i => (string)table["Encoding"][i]));
    }

    [FactNeeding("ffmpeg")]
    public void Junk_that_ffmpeg_accepts_as_a_stream_start_is_still_an_error_naming_the_file()
    {
        using var temp = new TempFolder();
        string path = temp.File("fake.mp3");
        var bytes = new byte[4096];
        new Random(3).NextBytes(bytes);
        "ID3"u8.CopyTo(bytes);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => AudioFile.Read(path));
        Assert.StartsWith("fake.mp3: ", e.Message);
    }

    [Fact]
    public void Says_how_to_install_ffmpeg_when_it_is_missing()
    {
        using var temp = new TempFolder();
        string path = temp.File("a.flac");
        File.WriteAllBytes(path, [.. "fLaC"u8, 0, 0, 0, 34, .. new byte[34]]);   // recognised as FLAC by its first bytes
        string? saved = Environment.GetEnvironmentVariable("PATH");
        try
        {
            Environment.SetEnvironmentVariable("PATH", temp.Path);
            var e = Assert.Throws<InvalidDataException>(() => AudioFile.Read(path));
            Assert.Equal("a.flac: decoding this format needs ffmpeg, which is not installed (install it with: apt-get install ffmpeg)", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", saved);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 13, 10, 26, 10, 0, 0, 0, 13 }, "a PNG image")]
    [InlineData(new byte[] { 0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0, 0, 0, 0, 0 }, "an executable")]
    [InlineData(new byte[] { 0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x41, 0x56, 0x49, 0x20 }, "a RIFF file that is not WAVE")]
    public void Refuses_non_audio_before_running_any_decoder(byte[] head, string what)
    {
        using var temp = new TempFolder();
        string path = temp.File("x.mp3");
        File.WriteAllBytes(path, head.Concat(new byte[100]).ToArray());
        Assert.Equal($"x.mp3: not a recognised audio file ({what})", Assert.Throws<InvalidDataException>(() => AudioFile.Read(path)).Message);
    }

    [Fact]
    public void Silent_audio_loads_without_NaN()
    {
        using var temp = new TempFolder();
        WavWriter.Write(temp.File("s.wav"), new AudioClip(44100, [new float[44100], new float[44100]]));
        var clip = AudioFile.Read(temp.File("s.wav")).WithChannels(1);
        Assert.All(clip.Channels[0], x => Assert.Equal(0f, x));
    }

    [Fact]
    public void Mixes_5_1_down_with_the_standard_weights()
    {
        // FL FR FC LFE BL BR
        var clip = new AudioClip(48000, [[1f], [0f], [1f], [1f], [1f], [0f]]);
        var stereo = clip.WithChannels(2);
        Assert.Equal(1f + 2 * 0.70710677f, stereo.Channels[0][0], 5);
        Assert.Equal(0.70710677f, stereo.Channels[1][0], 5);
    }
}
