using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Estimators;
using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

/// <summary>A long file is decoded in segments (AudioLoadingEstimator.Options.SegmentSeconds), read as one file downstream.</summary>
public class SegmentTests
{
    [Fact]
    public void A_long_file_comes_as_segments_with_its_path_that_add_up_to_the_file()
    {
        using var temp = new TempFolder();
        string songs = temp.Sub("songs");
        var whole = TestAudio.Melody(8000, 25, 1);
        WavWriter.Write(Path.Combine(songs, "long.wav"), whole);
        WavWriter.Write(Path.Combine(songs, "short.wav"), TestAudio.Melody(8000, 4, 1, variant: 1));
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([songs]);
        var loaded = ml.Transforms.LoadAudio(new AudioLoadingEstimator.Options { SampleRate = 8000, Channels = 1, SegmentSeconds = 10 }).Fit(files).Transform(files);

        var rows = new List<(string Path, float[] Samples)>();
        using (var cursor = loaded.GetRowCursor(loaded.Schema))
        {
            var path = cursor.GetGetter<ReadOnlyMemory<char>>(loaded.Schema["Path"]);
            var samples = cursor.GetGetter<VBuffer<float>>(loaded.Schema["Samples"]);
            ReadOnlyMemory<char> p = default;
            VBuffer<float> s = default;
            while (cursor.MoveNext())
            {
                path(ref p);
                samples(ref s);
                rows.Add((Path.GetFileName(p.ToString()), s.DenseValues().ToArray()));
            }
        }
        Assert.Equal(["long.wav", "long.wav", "long.wav", "short.wav"], rows.Select(r => r.Path));
        Assert.Equal([80000, 80000, 40000, 32000], rows.Select(r => r.Samples.Length));
        Assert.Equal(AudioFile.Read(Path.Combine(songs, "long.wav")).Channels[0], rows.Take(3).SelectMany(r => r.Samples).ToArray());
    }

    [Fact]
    public void A_token_model_trains_on_a_file_longer_than_a_segment_as_on_one_file()
    {
        using var temp = new TempFolder();
        string songs = temp.Sub("songs");
        for (int i = 0; i < 3; i++) WavWriter.Write(Path.Combine(songs, $"song{i}.wav"), TestAudio.Melody(8000, i == 0 ? 25 : 6, 1, variant: i));
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([songs]);
        Estimators.Training.HoldOut? chosen = null;
        using var model = ml.Transforms.TokenModel(TokenModelTests.TinyTokens() with { Epochs = 1, SegmentSeconds = 10, HoldOutChosen = h => chosen = h }).Fit(files);
        // Hold-out chooses among 3 files (not 5 rows), and the model generates.
        Assert.NotNull(chosen);
        Assert.Single(chosen!.Files);
        Assert.Equal(8000, new MusicGenerator(model).Generate(Path.Combine(songs, "song1.wav"), new GenerationOptions { Seconds = 1 }).Length);
    }
}
