using Microsoft.ML;
using MusicGen.Estimators;
using MusicGen.Transforms;

namespace MusicGen.Tests;

public class ValidationTests
{
    [Fact]
    public void Validation_baselines_are_computed_on_a_hand_made_sequence()
    {
        var ml = new MLContext(seed: 1);
        // One file of 41 frames [i, 0]: 40 steps in one stream; the last 10 (ceil(40 * 0.25)) are held out.
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 41).Select(i => new StatefulBatchingTests.Frame { File = "a", FrameIndex = i, Features = [i, 0] }));
        var batched = ml.Transforms.BatchStatefully(BatchOrdering.ContiguousStreams, 1).Fit(data).Transform(data);
        var reports = new List<TrainingProgress>();
        ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
        {
            Epochs = 1,
            HiddenSizes = [4],
            Dropouts = [0f],
            ValidationFraction = 0.25,
            Progress = p => { if (p.EpochDone) reports.Add(p); },
        }).Fit(batched).Dispose();

        var v = Assert.Single(reports).Validation!;
        Assert.Equal(30, reports[0].Frames);                  // steps 0..29 trained on
        Assert.Equal(10, v.Frames);                           // inputs 30..39, targets 31..40
        Assert.Equal(0.5, v.RepeatPrevious, 6);               // ((1)^2 + 0^2) / 2 for every step
        double mean = Enumerable.Range(0, 30).Average();      // the trained inputs' mean frame is [14.5, 0]
        double expected = Enumerable.Range(31, 10).Average(y => (mean - y) * (mean - y) / 2);
        Assert.Equal(expected, v.Average, 4);
        Assert.True(v.Loss > 0 && double.IsFinite(v.Loss));
    }

    [Fact]
    public void Train_writes_a_CSV_log_and_a_loss_curve_beside_the_model()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp);
        string model = temp.File("m.zip");
        int code = Host.Program.Run(["train", songs, "--model", model, "--preset", "seed2017", "--frame-size", "64", "--batch-size", "8", "--layers", "1",
            "--hidden", "16", "--epochs", "2", "--batching", "ContiguousStreams"], new StringWriter(), new StringWriter());
        Assert.Equal(0, code);
        var lines = File.ReadAllLines(temp.File("m.log.csv"));
        Assert.Equal(3, lines.Length);
        Assert.Equal(8, lines[2].Split(',').Length);
        Assert.True(new FileInfo(temp.File("m.loss.png")).Length > 1000);
    }
}
