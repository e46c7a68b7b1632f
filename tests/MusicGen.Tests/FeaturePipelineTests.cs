using Microsoft.Data.Analysis;
using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Estimators;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Spectral;

namespace MusicGen.Tests;

/// <summary>Representations, normalisation and DataFrame round trips inside real pipelines.</summary>
public class FeaturePipelineTests
{
    private static IEstimator<ITransformer> Features(MLContext ml, Representation representation) =>
        ml.Transforms.LoadAudio().Append(ml.Transforms.VectorizeFft(new FftVectorizingEstimator.Options
        {
            Representation = representation,
            FrameSize = 256,
            MelBands = 32,
        }));

    [Fact]
    public void Normalisation_is_learned_saved_and_undone_exactly()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp)]);
        var frames = Features(ml, Representation.LogMagnitude).Fit(files).Transform(files);
        var estimator = ml.Transforms.NormalizeFeatures();
        var normalizer = estimator.Fit(frames);
        var output = normalizer.Transform(frames);
        EstimatorWorkout.Run(ml, estimator, normalizer, frames, output, temp);

        var before = Column(frames, "Features");
        var after = Column(output, "Features");
        int dim = before[0].Length;
        for (int d = 0; d < dim; d++)
        {
            double mean = after.Average(r => (double)r[d]);
            double sd = Math.Sqrt(after.Average(r => (r[d] - mean) * (r[d] - mean)));
            Assert.InRange(mean, -1e-3, 1e-3);
            Assert.InRange(sd, 0.999, 1.001);
        }
        var restored = after.SelectMany(r => r).ToArray();
        normalizer.Denormalize(restored);
        var original = before.SelectMany(r => r).ToArray();
        for (int i = 0; i < original.Length; i++) Assert.Equal(original[i], restored[i], Math.Max(1e-5f, Math.Abs(original[i]) * 1e-5f));
    }

    [Fact]
    public void A_dimension_that_never_varies_keeps_a_divisor_of_one()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 5).Select(i => new VectorRow { Features = [3f, i] }));
        var normalizer = ml.Transforms.NormalizeFeatures().Fit(data);
        Assert.Equal([1f, (float)Math.Sqrt(2)], normalizer.StandardDeviation.ToArray(), new FloatComparer(1e-6f));
        Assert.Equal([3f, 2f], normalizer.Mean.ToArray());
    }

    private sealed class VectorRow
    {
        [VectorType(2)] public float[] Features { get; set; } = [];
    }

    [Theory]
    [InlineData(Representation.Seed2017, 512)]
    [InlineData(Representation.ComplexSpectrum, 258)]
    [InlineData(Representation.LogMagnitude, 129)]
    [InlineData(Representation.LogMel, 32)]
    public void Frames_go_to_a_DataFrame_and_back_into_the_pipeline(Representation representation, int size)
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp)]);
        var frames = Features(ml, representation).Fit(files).Transform(files);
        DataFrame table = FrameTable.ToDataFrame(frames);
        Assert.Equal(["File", "FrameIndex", "Time", "Features"], table.Columns.Select(c => c.Name));
        int perFile = representation == Representation.Seed2017 ? 16000 / 256 : 1 + 16000 / 64;
        Assert.Equal(2 * perFile, table.Rows.Count);
        Assert.Equal(2, table.GroupBy<string>("File").Count().Rows.Count);
        var early = table.Filter(((PrimitiveDataFrameColumn<float>)table["Time"]).ElementwiseLessThan(0.5f));
        Assert.InRange(early.Rows.Count, 1, table.Rows.Count - 1);
        var description = new DataFrame(table["FrameIndex"], table["Time"]).Description();
        Assert.Equal(3, description.Columns.Count);
        int hop = representation == Representation.Seed2017 ? 256 : 64;
        Assert.Equal(3f * hop / 8000, (float)table["Time"][3], 6);

        var back = FrameTable.ToDataView(table, size);
        Assert.Equal(size, ((VectorDataViewType)back.Schema["Features"].Type).Size);
        Assert.Equal(Column(frames, "Features").SelectMany(r => r), Column(back, "Features").SelectMany(r => r));
        var batched = ml.Transforms.BatchStatefully(BatchOrdering.ContiguousStreams, 4).Fit(back).Transform(back);
        Assert.NotEmpty(Column(batched, "Target"));
    }

    [Theory]
    [InlineData(Representation.ComplexSpectrum)]
    [InlineData(Representation.LogMagnitude)]
    [InlineData(Representation.LogMel)]
    public void Spectral_pipelines_train_save_load_and_generate(Representation representation)
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        string songs = TestAudio.MelodyFolder(temp);
        var files = ml.Data.LoadAudioFiles([songs]);
        var pipeline = ml.Transforms.Seed2017Model(PipelineSettings.Seed2017Model() with
        {
            Representation = representation,
            FrameSize = 256,
            MelBands = 32,
            Ordering = BatchOrdering.ContiguousStreams,
            BatchSize = 4,
            Layers = 1,
            HiddenSize = 16,
            Epochs = 1,
        });
        var model = pipeline.Fit(files);
        Assert.Contains(ModelFile.Stages(model), s => s is FeatureNormalizingTransformer);
        string path = temp.File("m.zip");
        ModelFile.Save(ml, model, files.Schema, path);
        var generator = new MusicGenerator(ModelFile.Load(new MLContext(), path));
        var options = new GenerationOptions { Seconds = 1, PrimeSeconds = 1 };
        var a = generator.Generate(Path.Combine(songs, "song0.wav"), options);
        var b = generator.Generate(Path.Combine(songs, "song0.wav"), options);
        Assert.Equal(8000, a.Length);
        Assert.All(a.Channels[0], x => Assert.True(float.IsFinite(x)));
        Assert.Equal(a.Channels[0], b.Channels[0]);
    }

    internal static List<float[]> Column(IDataView view, string name)
    {
        var column = view.Schema[name];
        var rows = new List<float[]>();
        using var cursor = view.GetRowCursor([column]);
        var get = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> v = default;
        while (cursor.MoveNext())
        {
            get(ref v);
            rows.Add(v.DenseValues().ToArray());
        }
        return rows;
    }
}
