using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

public class WavWriterTests
{
    [Theory]
    [InlineData(WavSampleFormat.Pcm16, 1.0 / 32768)]
    [InlineData(WavSampleFormat.Pcm24, 1.0 / 8388608)]
    [InlineData(WavSampleFormat.Float32, 0)]
    public void Round_trips_through_the_reader(WavSampleFormat format, double step)
    {
        using var temp = new TempFolder();
        var clip = TestAudio.Melody(8000, 0.5, 2);
        string path = temp.File("x.wav");
        WavWriter.Write(path, clip, format);
        var back = WavReader.Read(path);
        Assert.Equal(2, back.ChannelCount);
        Assert.Equal(clip.Length, back.Length);
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < clip.Length; i++)
                Assert.InRange(Math.Abs(back.Channels[c][i] - clip.Channels[c][i]), 0, step / 2 + 1e-9);
    }

    [Fact]
    public void Clips_loud_values_instead_of_wrapping_around()
    {
        using var temp = new TempFolder();
        string path = temp.File("loud.wav");
        WavWriter.Write(path, new AudioClip(8000, [[1.5f, -2f, 1f, -1f, float.NaN]]));
        Assert.Equal([32767 / 32768f, -1f, 32767 / 32768f, -1f, 0f], WavReader.Read(path).Channels[0]);
    }

    [Fact]
    public void Leaves_no_temporary_file_behind()
    {
        using var temp = new TempFolder();
        WavWriter.Write(temp.File("a.wav"), TestAudio.Melody(8000, 0.1, 1));
        Assert.Equal(["a.wav"], Directory.GetFiles(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Converts_channels_with_the_stated_rules()
    {
        var stereo = new AudioClip(8000, [[1f, 0.5f], [0f, -0.5f]]);
        Assert.Equal([0.5f, 0f], stereo.WithChannels(1).Channels[0]);
        var mono = new AudioClip(8000, [[0.25f]]);
        var up = mono.WithChannels(2);
        Assert.Equal([0.25f], up.Channels[0]);
        Assert.Equal([0.25f], up.Channels[1]);
    }
}
