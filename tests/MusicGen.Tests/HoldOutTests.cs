using Microsoft.ML;
using MusicGen.Estimators;
using MusicGen.Estimators.Training;
using MusicGen.Transforms;
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
        Assert.Equal((0, 0), HoldOut.Choose(seven, 0.1).Held("a", 30, 16));
        Assert.Equal((30, 16), HoldOut.Choose(seven, 0.1).Held("d", 30, 16));
        Assert.Equal(0, HoldOut.Choose(seven, 0.1).FirstHeldFrame("d", 500));
        Assert.Equal(500, HoldOut.Choose(seven, 0.1).FirstHeldFrame("a", 500));
        Assert.Same(HoldOut.None, HoldOut.Choose(seven, 0));
    }

    [Fact]
    public void With_two_files_the_end_of_each_is_held_out_as_whole_streams_or_as_its_last_steps()
    {
        // Contiguous streams: stream b of a 1000-frame file is frames b*62 .. b*62+61, so the file's end is its last
        // streams, round(16 x 0.1) = 2 of them, from frame 14 x 62 on, for every step.
        var streams = HoldOut.Choose(["a", "b"], 0.1, BatchOrdering.ContiguousStreams, 16);
        Assert.True(streams.EndStreams);
        Assert.Equal(2, streams.EndStreamsHeld);
        Assert.Equal((61, 2), streams.Held("a", 61, 16));
        Assert.Equal(14 * 62, streams.FirstHeldFrame("a", 1000));
        Assert.Equal(1, HoldOut.Choose(["a"], 0.01, BatchOrdering.ContiguousStreams, 16).EndStreamsHeld);  // at least one
        Assert.Equal(15, HoldOut.Choose(["a"], 0.99, BatchOrdering.ContiguousStreams, 16).EndStreamsHeld); // never all
        // The 2017 ordering: step k reads frames 4k .. 4k+3 of a 41-frame file (9 steps), so the end is its last
        // ceil(9 x 0.1) = 1 step of every stream, from frame 8 x 4 on.
        var steps = HoldOut.Choose(["a", "b"], 0.1, BatchOrdering.Seed2017, 4);
        Assert.False(steps.EndStreams);
        Assert.Equal((1, 4), steps.Held("a", 9, 4));
        Assert.Equal(32, steps.FirstHeldFrame("a", 41));
        Assert.Equal((3, 1), HoldOut.Choose(["a", "b"], 0.1).Held("a", 30, 1));
    }

    [Fact]
    public void Contiguous_streams_validate_on_the_last_stream_and_train_on_the_others()
    {
        var ml = new MLContext(seed: 1);
        // One file of 41 frames [i, 0] in 4 contiguous streams of 10 frames (9 steps each): round(4 x 0.25) = 1 stream held out.
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 41).Select(i => new StatefulBatchingTests.Frame { File = "a", FrameIndex = i, Features = [i, 0] }));
        var batched = ml.Transforms.BatchStatefully(BatchOrdering.ContiguousStreams, 4).Fit(data).Transform(data);
        var reports = new List<TrainingProgress>();
        ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
        {
            Epochs = 1,
            HiddenSizes = [4],
            Dropouts = [0f],
            SequenceLength = 4,
            ValidationFraction = 0.25,
            Progress = p => { if (p.EpochDone) reports.Add(p); },
        }).Fit(batched).Dispose();

        var v = Assert.Single(reports).Validation!;
        Assert.Equal(27, reports[0].Frames);                 // streams 0-2: inputs 0..8, 10..18, 20..28
        Assert.Equal(9, v.Frames);                           // stream 3: inputs 30..38, targets 31..39
        Assert.Equal(0.5, v.RepeatPrevious, 6);
        double mean = new[] { 0, 10, 20 }.SelectMany(s => Enumerable.Range(s, 9)).Average(); // 14: the trained inputs' mean
        Assert.Equal(Enumerable.Range(31, 9).Average(y => (mean - y) * (mean - y) / 2), v.Average, 4);
    }

    [Fact]
    public void With_two_files_the_codebook_leaves_out_exactly_the_streams_the_trainer_validates_on()
    {
        using var temp = new TempFolder();
        string songs = temp.Sub("songs");
        WavWriter.Write(Path.Combine(songs, "a.wav"), TestAudio.Melody(8000, 3, 1, variant: 0));
        WavWriter.Write(Path.Combine(songs, "b.wav"), TestAudio.Melody(8000, 4, 1, variant: 1));
        var reports = new List<TrainingProgress>();
        HoldOut? chosen = null;
        var ml = new MLContext(seed: 1);
        using var model = ml.Transforms.TokenModel(TokenModelTests.TinyTokens() with
        {
            Epochs = 1,
            BatchSize = 8,
            ValidationFraction = 0.25,
            HoldOutChosen = h => chosen = h,
            Progress = p => { if (p.EpochDone) reports.Add(p); },
        }).Fit(ml.Data.LoadAudioFiles([songs]));

        Assert.Equal(2, chosen!.EndStreamsHeld);             // round(8 x 0.25) of 8 streams
        var stages = PipelineStages.Of(model);
        int Frames(string name) => stages.Vectorizer.Vectorize(stages.Loader.Load(Path.Combine(songs, name)).Channels).Length / stages.Vectorizer.FeatureSize;
        int a = Frames("a.wav"), b = Frames("b.wav");
        // The codebook counted each file's frames before its last 2 streams (8 streams of frames / 8 frames each) ...
        Assert.Equal(6 * (a / 8) + 6 * (b / 8), stages.Tokenizer!.Codebook.Frequencies.Sum());
        // ... the trainer validated on those 2 streams for every step, and trained on the other 6.
        Assert.Equal(2 * (a / 8 - 1) + 2 * (b / 8 - 1), Assert.Single(reports).Validation!.Frames);
        Assert.Equal(6 * (a / 8 - 1) + 6 * (b / 8 - 1), reports[0].Frames);
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
