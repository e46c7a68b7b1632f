using Microsoft.Data.Analysis;
using MusicGen.Host.Commands;
using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

public class AudioDatasetTests
{
    private static float[] Sine(double hz, int rate, double seconds, double amplitude) =>
        Enumerable.Range(0, (int)(rate * seconds)).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / rate))).ToArray();

    [Fact]
    public void Levels_of_a_sine_are_its_known_values()
    {
        var s = AudioStatistics.Measure(new AudioClip(44100, [Sine(1000, 44100, 1, 0.5)]));
        Assert.Equal(20 * Math.Log10(0.5), s.PeakDbfs, 2);
        Assert.Equal(20 * Math.Log10(0.5 / Math.Sqrt(2)), s.RmsDbfs, 2);
        Assert.Equal(0, s.ClippedShare);
        Assert.Equal(0, s.SilentShare);
        Assert.InRange(s.DcOffset, -1e-4, 1e-4);
        Assert.InRange(s.CentroidMeanHz, 990, 1010);
        Assert.InRange(s.CentroidSpreadHz, 0, 5);
    }

    [Theory]
    [InlineData(1, 4096)]
    [InlineData(2, 1000)]
    [InlineData(6, 65536)]
    public void Statistics_streamed_in_blocks_equal_those_of_the_whole_clip(int channels, int blockFrames)
    {
        using var temp = new TempFolder();
        var clip = TestAudio.Melody(22050, 3.3, channels);
        clip.Channels[0].AsSpan(5000, 3000).Clear();                       // a silent stretch in one channel
        string path = temp.File("a.wav");
        WavWriter.Write(path, clip, WavSampleFormat.Float32);
        var whole = AudioStatistics.Measure(WavReader.Read(path));
        var accumulator = new AudioStatistics.Accumulator();
        AudioStreamInfo info;
        using (var stream = File.OpenRead(path))
            info = WavReader.ReadBlocks(stream, "a.wav", accumulator.Add, blockFrames);
        var streamed = accumulator.Result();
        Assert.Equal(clip.Length, info.Frames);
        Assert.Equal(channels, info.Channels);
        Assert.Equal(whole.PeakDbfs, streamed.PeakDbfs, 9);
        Assert.Equal(whole.RmsDbfs, streamed.RmsDbfs, 9);
        Assert.Equal(whole.DcOffset, streamed.DcOffset, 9);
        Assert.Equal(whole.ClippedShare, streamed.ClippedShare, 12);
        Assert.Equal(whole.SilentShare, streamed.SilentShare, 12);
        Assert.Equal(whole.CentroidMeanHz, streamed.CentroidMeanHz, 2);
        Assert.Equal(whole.CentroidSpreadHz, streamed.CentroidSpreadHz, 2);
    }

    [Fact]
    public void Clipping_silence_and_DC_are_measured()
    {
        var square = Enumerable.Range(0, 8000).Select(i => i % 80 < 40 ? 1f : -1f).ToArray();
        Assert.Equal(1, AudioStatistics.Measure(new AudioClip(8000, [square])).ClippedShare);

        // Half a second of silence, then half a second of tone: half the 50 ms windows are silent.
        var half = new float[8000];
        Sine(440, 8000, 0.5, 0.5).CopyTo(half, 4000);
        Assert.Equal(0.5, AudioStatistics.Measure(new AudioClip(8000, [half])).SilentShare, 2);

        var silent = AudioStatistics.Measure(new AudioClip(8000, [new float[8000]]));
        Assert.Equal(AudioStatistics.FloorDb, silent.PeakDbfs);
        Assert.Equal(AudioStatistics.FloorDb, silent.RmsDbfs);
        Assert.Equal(1, silent.SilentShare);
        Assert.False(double.IsNaN(silent.CentroidMeanHz));

        var offset = Sine(440, 8000, 1, 0.1).Select(x => x + 0.25f).ToArray();
        Assert.Equal(0.25, AudioStatistics.Measure(new AudioClip(8000, [offset])).DcOffset, 3);
    }

    [Fact]
    public void A_folder_with_a_broken_file_gives_a_row_with_its_error_and_the_CSV_reads_back()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp);
        File.WriteAllText(Path.Combine(songs, "broken.wav"), "RIFF but not really");
        var table = AudioDataset.Inspect([songs]);
        Assert.Equal(AudioDataset.Columns, table.Columns.Select(c => c.Name));
        Assert.Equal(3, table.Rows.Count);
        long broken = Enumerable.Range(0, 3).Single(i => ((string)table["Path"][i]).EndsWith("broken.wav", StringComparison.Ordinal));
        Assert.StartsWith("error: broken.wav: ", (string)table["Status"][broken]);
        Assert.Null(table["Seconds"][broken]);
        Assert.Contains(AudioDataset.Warnings(table), w => w.StartsWith("undecodable, will be skipped: broken.wav", StringComparison.Ordinal));

        string csv = temp.File("t.csv");
        AudioDataset.SaveCsv(table, csv);
        var back = DataFrame.LoadCsv(csv, cultureInfo: System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(table.Rows.Count, back.Rows.Count);
        for (long i = 0; i < table.Rows.Count; i++)
        {
            Assert.Equal(table["Path"][i], back["Path"][i]);
            Assert.Equal(table["Status"][i], back["Status"][i]);
            if (table["Seconds"][i] is double seconds)
            {
                Assert.Equal(seconds, Convert.ToDouble(back["Seconds"][i], System.Globalization.CultureInfo.InvariantCulture), 6);
                Assert.Equal((double)table["RmsDbfs"][i], Convert.ToDouble(back["RmsDbfs"][i], System.Globalization.CultureInfo.InvariantCulture), 4);
            }
        }
    }

    [Fact]
    public void Feature_summary_gives_each_dimension_its_statistics()
    {
        var ml = new Microsoft.ML.MLContext();
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { Features = [1, 10] }, new Row { Features = [3, 10] } });
        var summary = AudioDataset.FeatureSummary(data);
        Assert.Equal([2.0, 10.0], ((DoubleDataFrameColumn)summary["Mean"]).Select(v => v!.Value));
        Assert.Equal([1.0, 0.0], ((DoubleDataFrameColumn)summary["StdDev"]).Select(v => v!.Value));
        Assert.Equal([1.0, 10.0], ((DoubleDataFrameColumn)summary["Min"]).Select(v => v!.Value));
        Assert.Equal([3.0, 10.0], ((DoubleDataFrameColumn)summary["Max"]).Select(v => v!.Value));
    }

    private sealed class Row
    {
        [Microsoft.ML.Data.VectorType(2)] public float[] Features { get; set; } = [];
    }

    [Fact]
    public void Inspect_writes_a_table_CSV_and_plots()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp);
        var output = new StringWriter();
        int code = Host.Program.Run(["inspect", songs, "--csv", temp.File("x.csv"), "--plots", temp.File("plots")], output, new StringWriter());
        Assert.Equal(0, code);
        Assert.Contains("2 file(s), 2 readable", output.ToString());
        Assert.True(File.Exists(temp.File("x.csv")));
        Assert.Equal(4, Directory.GetFiles(temp.File("plots"), "*.png").Length);
        Assert.All(Directory.GetFiles(temp.File("plots")), f => Assert.True(new FileInfo(f).Length > 1000));
    }
}
