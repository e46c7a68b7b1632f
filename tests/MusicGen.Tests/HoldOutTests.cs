using Microsoft.ML;
using MusicGen.Estimators;
using MusicGen.Estimators.Training;
using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

public class HoldOutTests
{
    [Fact]
    public void Whole_files_are_spread_over_the_list_and_a_file_listed_twice_counts_once()
    {
        string[] seven = ["a", "b", "c", "d", "e", "f", "g"];
        Assert.Equal(["d"], HoldOut.Choose(seven, 0.1).Files);
        Assert.Equal(["b", "f"], HoldOut.Choose(seven, 0.3).Files.Order());
        Assert.Equal(["c"], HoldOut.Choose(["a", "b", "c", "a", "d"], 0.25).Files);
        Assert.False(HoldOut.Choose(["a", "b"], 0.1).WholeFiles);        // too few files: the end of each
        Assert.Equal(3, HoldOut.Choose(["a", "b"], 0.1).HeldSteps("a", 30));
        Assert.Equal(0, HoldOut.Choose(seven, 0.1).HeldSteps("a", 30));
        Assert.Equal(30, HoldOut.Choose(seven, 0.1).HeldSteps("d", 30));
        Assert.Same(HoldOut.None, HoldOut.Choose(seven, 0));
    }

    [Fact]
    public void The_codebook_leaves_out_exactly_the_file_the_trainer_validates_on_even_after_a_short_file()
    {
        // Four files; the last is too short to give a batch. Counting files (codebook) and segments (trainer) apart,
        // the codebook would leave out c and the trainer validate on b, music the codebook learned.
        using var temp = new TempFolder();
        string songs = temp.Sub("songs");
        double[] seconds = [2, 3, 4, 0.02];
        string[] names = ["a.wav", "b.wav", "c.wav", "d.wav"];
        for (int i = 0; i < 4; i++) WavWriter.Write(Path.Combine(songs, names[i]), TestAudio.Melody(8000, seconds[i], 1, variant: i));
        var reports = new List<TrainingProgress>();
        var ml = new MLContext(seed: 1);
        using var model = ml.Transforms.TokenModel(TokenModelTests.TinyTokens() with
        {
            Epochs = 1,
            ValidationFraction = 0.25,
            Progress = p => { if (p.EpochDone) reports.Add(p); },
        }).Fit(ml.Data.LoadAudioFiles([songs]));

        var stages = PipelineStages.Of(model);
        int Frames(string name) => stages.Vectorizer.Vectorize(stages.Loader.Load(Path.Combine(songs, name)).Channels).Length / stages.Vectorizer.FeatureSize;
        // The codebook counted a, b and d, not c ...
        Assert.Equal(Frames("a.wav") + Frames("b.wav") + Frames("d.wav"), stages.Tokenizer!.Codebook.Frequencies.Sum());
        // ... and the trainer validated on all of c: its streams' steps, stream by stream (2 streams, one batch fewer than steps).
        int streams = 2, cSteps = Frames("c.wav") / streams - 1;
        Assert.Equal(cSteps * streams, Assert.Single(reports).Validation!.Frames);
    }
}
