using Microsoft.ML;
using MusicGen.Estimators;
using MusicGen.Transforms;

namespace MusicGen.Tests;

public class CheckpointTests
{
    private static byte[] Train(IDataView batched, int epochs, string? checkpoint, bool resume, CancellationToken cancel = default)
    {
        var ml = new MLContext(seed: 1);
        using var model = ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
        {
            Epochs = epochs,
            HiddenSizes = [16],
            Dropouts = [0.3f],
            SequenceLength = 4,
            ValidationFraction = 0.1,
            CheckpointPath = checkpoint,
            Resume = resume,
            CancellationToken = cancel,
        }).Fit(batched);
        using var weights = new MemoryStream();
        model.Network.save(weights);
        return weights.ToArray();
    }

    private static IDataView Batched(TempFolder temp)
    {
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp)]);
        return ml.Transforms.LoadAudio().Append(ml.Transforms.VectorizeFft(frameSize: 64))
            .Append(ml.Transforms.BatchStatefully(BatchOrdering.ContiguousStreams, 4)).Fit(files).Transform(files);
    }

    [Fact]
    public void Resuming_after_an_interruption_ends_with_the_weights_of_an_uninterrupted_run()
    {
        using var temp = new TempFolder();
        var batched = Batched(temp);
        var straight = Train(batched, 3, null, false);
        string checkpoint = temp.File("m.ckpt");
        var firstEpoch = Train(batched, 1, checkpoint, false);      // "interrupted" after one epoch
        Assert.NotEqual(straight, firstEpoch);
        var resumed = Train(batched, 3, checkpoint, resume: true);
        Assert.Equal(straight, resumed);
    }

    [Fact]
    public void Cancelling_writes_a_checkpoint_at_the_end_of_the_file_and_resuming_from_mid_epoch_matches_a_straight_run()
    {
        using var temp = new TempFolder();
        var batched = Batched(temp);                                 // two files: two segments per epoch
        var straight = Train(batched, 2, null, false);
        string checkpoint = temp.File("m.ckpt");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();                                          // Ctrl+C during the first file of epoch 1
        Assert.Throws<OperationCanceledException>(() => Train(batched, 2, checkpoint, false, cancelled.Token));
        Assert.True(File.Exists(checkpoint));
        var resumed = Train(batched, 2, checkpoint, resume: true);
        Assert.Equal(straight, resumed);
    }

    [Fact]
    public void A_loss_that_turns_NaN_stops_training_and_keeps_the_last_good_checkpoint()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        // Two files of 40 frames; the second holds a NaN, so its first step's loss is NaN.
        var rows = new[] { "a", "b" }.SelectMany(f => Enumerable.Range(0, 40).Select(i => new StatefulBatchingTests.Frame
        {
            File = f,
            FrameIndex = i,
            Features = [f == "b" && i == 3 ? float.NaN : MathF.Sin(i), 0.5f],
        }));
        var data = ml.Data.LoadFromEnumerable(rows.ToList());
        var batched = ml.Transforms.BatchStatefully(BatchOrdering.ContiguousStreams, 2).Fit(data).Transform(data);
        string checkpoint = temp.File("m.ckpt");
        var e = Assert.Throws<InvalidOperationException>(() => ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
        {
            Epochs = 2,
            HiddenSizes = [4],
            Dropouts = [0f],
            SequenceLength = 4,
            CheckpointPath = checkpoint,
            CheckpointInterval = TimeSpan.FromTicks(1),   // a checkpoint after every file
        }).Fit(batched));
        Assert.Contains("the loss became NaN in epoch 1 (b)", e.Message);
        // The checkpoint written after file a is intact and resumable up to the bad file.
        var good = File.ReadAllBytes(checkpoint);
        var again = Assert.Throws<InvalidOperationException>(() => ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
        {
            Epochs = 2,
            HiddenSizes = [4],
            Dropouts = [0f],
            SequenceLength = 4,
            CheckpointPath = checkpoint,
            CheckpointInterval = TimeSpan.FromTicks(1),
            Resume = true,
        }).Fit(batched));
        Assert.Contains("NaN", again.Message);
        Assert.Equal(good, File.ReadAllBytes(checkpoint));
    }

    [Fact]
    public void Early_stopping_ends_a_run_that_stopped_improving_and_the_best_epoch_is_kept()
    {
        using var temp = new TempFolder();
        var batched = Batched(temp);
        var epochs = new List<TrainingProgress>();
        string checkpoint = temp.File("m.ckpt");
        var ml = new MLContext(seed: 1);
        ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
        {
            Epochs = 20,
            HiddenSizes = [8],
            Dropouts = [0f],
            LearningRate = 1e-30f, // the weights cannot move in float32: validation never improves after epoch 1
            ValidationFraction = 0.2,
            EarlyStoppingPatience = 2,
            CheckpointPath = checkpoint,
            Progress = p => { if (p.EpochDone) epochs.Add(p); },
        }).Fit(batched).Dispose();
        Assert.Equal([1, 2, 3], epochs.Select(e => e.Epoch));
        Assert.True(File.Exists(LstmForecastingEstimator.BestCheckpointPath(checkpoint)));
        Assert.EndsWith("m.best.ckpt", LstmForecastingEstimator.BestCheckpointPath(checkpoint));
    }

    [Fact]
    public void A_truncated_or_foreign_checkpoint_is_refused_by_name()
    {
        using var temp = new TempFolder();
        var batched = Batched(temp);
        string checkpoint = temp.File("m.ckpt");
        Train(batched, 1, checkpoint, false);
        var bytes = File.ReadAllBytes(checkpoint);
        File.WriteAllBytes(checkpoint, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => Train(batched, 2, checkpoint, resume: true));
        Assert.StartsWith("m.ckpt: ", e.Message);

        File.WriteAllText(checkpoint, "not a checkpoint at all");
        Assert.StartsWith("m.ckpt: ", Assert.Throws<InvalidDataException>(() => Train(batched, 2, checkpoint, resume: true)).Message);
    }
}
