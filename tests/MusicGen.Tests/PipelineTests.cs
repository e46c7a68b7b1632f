using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Estimators;
using MusicGen.Transforms;

namespace MusicGen.Tests;

/// <summary>The four stages chained, fitted, saved and reloaded; every estimator passes the same workout.</summary>
public class PipelineTests
{
    internal static IEstimator<ITransformer> TinyPipeline(MLContext ml, int epochs = 2, List<TrainingProgress>? progress = null,
        BatchOrdering ordering = BatchOrdering.ContiguousStreams) =>
        ml.Transforms.LoadAudio()
            .Append(ml.Transforms.VectorizeFft(frameSize: 64))
            .Append(ml.Transforms.BatchStatefully(ordering, batchSize: 8))
            .Append(ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
            {
                Epochs = epochs,
                HiddenSizes = [32, 32],
                Dropouts = [0.1f, 0.1f],
                LearningRate = 3e-3f,
                Progress = p => progress?.Add(p),
            }));

    [Fact]
    public void Training_on_a_tiny_corpus_lowers_the_loss()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp)]);
        var progress = new List<TrainingProgress>();
        using var _ = (IDisposable)ModelFile.Stages(TinyPipeline(ml, epochs: 6, progress).Fit(files)).OfType<LstmForecastingTransformer>().Single();
        var epochs = progress.Where(p => p.EpochDone).ToList();
        Assert.Equal(6, epochs.Count);
        Assert.True(epochs[^1].Loss < 0.8 * epochs[0].Loss, $"loss went {epochs[0].Loss} -> {epochs[^1].Loss}");
        Assert.All(epochs, e => Assert.True(e.Frames > 0 && e.FramesPerSecond > 0));
    }

    [Fact]
    public void Saved_pipeline_loads_in_a_fresh_context_and_predicts_identically()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp)]);
        var model = TinyPipeline(ml).Fit(files);
        string path = temp.File("model.zip");
        ModelFile.Save(ml, model, files.Schema, path);

        var fresh = new MLContext(seed: 7);
        var loaded = fresh.Model.Load(path, out var schema);
        Assert.Equal("Path", Assert.Single(schema).Name);
        Assert.Equal(Predictions(model, files), Predictions(loaded, fresh.Data.LoadAudioFiles([Path.Combine(temp.Path, "songs")])));
        Assert.Equal(new[] { typeof(AudioLoadingTransformer), typeof(FftVectorizingTransformer), typeof(StatefulBatchingTransformer), typeof(LstmForecastingTransformer) },
            ModelFile.Stages(loaded).Select(s => s.GetType()));
    }

    private static List<float[]> Predictions(ITransformer model, IDataView files)
    {
        var result = FeaturePipelineTests.Column(model.Transform(files), "PredictedFeatures");
        Assert.NotEmpty(result);
        return result;
    }

    [Fact]
    public void Every_estimator_passes_the_workout()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        IDataView data = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp, channels: 2)]);
        var stages = new IEstimator<ITransformer>[]
        {
            ml.Transforms.LoadAudio(),
            ml.Transforms.VectorizeFft(frameSize: 64),
            ml.Transforms.BatchStatefully(BatchOrdering.Seed2017, batchSize: 8),
            ml.Transforms.PredictNextFrame(epochs: 1, layers: 1, hiddenSize: 16),
        };
        foreach (var estimator in stages)
        {
            var transformer = estimator.Fit(data);
            var output = transformer.Transform(data);
            EstimatorWorkout.Run(ml, estimator, transformer, data, output, temp);
            data = output;
        }
        // Stereo: 4N values per frame.
        Assert.Equal(4 * 64, ((VectorDataViewType)data.Schema["Features"].Type).Size);
    }

    [Fact]
    public void Files_at_other_rates_and_channel_counts_are_brought_to_the_model()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        string dir = TestAudio.MelodyFolder(temp);
        static float[] Tones(int rate) => Enumerable.Range(0, rate).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * 300 * i / rate) + 0.2 * Math.Sin(2 * Math.PI * 1700 * i / rate))).ToArray();
        Transforms.Audio.WavWriter.Write(Path.Combine(dir, "zz-fast-stereo.wav"), new Transforms.Audio.AudioClip(16000, [Tones(16000), Tones(16000)]), Transforms.Audio.WavSampleFormat.Float32);
        var loader = ml.Transforms.LoadAudio().Fit(ml.Data.LoadAudioFiles([dir]));
        Assert.Equal((8000, 1), (loader.SampleRate, loader.Channels));
        var clip = loader.Load(Path.Combine(dir, "zz-fast-stereo.wav"));
        Assert.Equal((8000, 1, 8000), (clip.SampleRate, clip.ChannelCount, clip.Length));
        var expected = Tones(8000);
        double maxError = 0;
        for (int i = 800; i < 7200; i++) maxError = Math.Max(maxError, Math.Abs(clip.Channels[0][i] - expected[i]));
        Assert.True(maxError < 1e-3, $"max error {maxError}");
    }

    [Fact]
    public void Options_report_every_problem_at_once()
    {
        var ml = new MLContext();
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
        {
            Epochs = 0,
            LearningRate = -1,
            SequenceLength = 0,
            LearningRateDecay = 2,
            EarlyStoppingPatience = 3,
        }));
        Assert.Contains("Epochs", e.Message);
        Assert.Contains("LearningRateDecay", e.Message);
        Assert.Contains("EarlyStoppingPatience needs a ValidationFraction", e.Message);
        Assert.Contains("LearningRate", e.Message);
        Assert.Contains("SequenceLength", e.Message);
    }
}

/// <summary>
/// What every estimator must do (after ML.NET's TestDataPipeBase): its predicted output schema agrees with the data,
/// it rejects input that lacks its column, and its transformer saved and loaded in a fresh MLContext gives the same output.
/// </summary>
internal static class EstimatorWorkout
{
    public static void Run(MLContext ml, IEstimator<ITransformer> estimator, ITransformer transformer, IDataView input, IDataView output, TempFolder temp)
    {
        var predicted = estimator.GetOutputSchema(SchemaShape.Create(input.Schema));
        foreach (var column in output.Schema)
        {
            Assert.True(predicted.TryFindColumn(column.Name, out var shape), $"{estimator.GetType().Name}: '{column.Name}' missing from GetOutputSchema");
            var itemType = column.Type is VectorDataViewType v ? v.ItemType : column.Type;
            Assert.Equal(itemType, shape.ItemType);
        }
        Assert.Equal(output.Schema.Select(c => (c.Name, c.Type.ToString())), transformer.GetOutputSchema(input.Schema).Select(c => (c.Name, c.Type.ToString())));

        var empty = ml.Data.LoadFromEnumerable(new[] { new { Unrelated = 1f } });
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(SchemaShape.Create(empty.Schema)));
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => transformer.Transform(empty));

        string path = temp.File(estimator.GetType().Name + ".zip");
        ml.Model.Save(transformer, input.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        Assert.Equal(transformer.GetType(), loaded.GetType());
        Assert.Equal(Dump(output), Dump(loaded.Transform(input)));
    }

    /// <summary>Every value of every row, as text, for comparison.</summary>
    private static List<string> Dump(IDataView view)
    {
        var rows = new List<string>();
        var preview = view.Preview(maxRows: 200);
        foreach (var row in preview.RowView)
            rows.Add(string.Join("|", row.Values.Select(kv => kv.Value is VBuffer<float> vb ? string.Join(",", vb.DenseValues()) : kv.Value?.ToString())));
        Assert.NotEmpty(rows);
        return rows;
    }
}
