using Microsoft.ML;
using MusicGen.Estimators;
using MusicGen.Transforms;
using MusicGen.Transforms.Spectral;

namespace MusicGen.Tests;

/// <summary>Pipelines wired wrongly by hand fail early, naming the stage, the column and the fix.</summary>
public class WiringTests
{
    private static TokenizingEstimator Tokenize(MLContext ml) =>
        ml.Transforms.Tokenize(new TokenizingEstimator.Options { TokenCount = 8, MelBands = 16, SampleRate = 8000 });

    [Fact]
    public void Batching_the_frames_instead_of_the_tokens_is_refused_before_anything_is_read()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp)]);
        var pipeline = ml.Transforms.LoadAudio(sampleRate: 8000, channels: 1)
            .Append(ml.Transforms.VectorizeFft(new FftVectorizingEstimator.Options { FrameSize = 256, Representation = Representation.LogMagnitude }))
            .Append(Tokenize(ml))
            .Append(ml.Transforms.BatchStatefully(BatchOrdering.ContiguousStreams, 2));   // forgot FeaturesColumnName = "Token"
        int decodes = 0;
        Transforms.Audio.AudioFile.Decoding = (_, _, _) => decodes++;
        try
        {
            var e = Assert.Throws<ArgumentException>(() => pipeline.GetOutputSchema(SchemaShape.Create(files.Schema)));
            Assert.Contains("BatchStatefully: the input has the token column 'Token' (from Tokenize) but batches 'Features'", e.Message);
            Assert.Contains("FeaturesColumnName = \"Token\"", e.Message);
            Assert.Throws<ArgumentException>(() => pipeline.Fit(files));               // EstimatorChain checks the shape first
        }
        finally
        {
            Transforms.Audio.AudioFile.Decoding = null;
        }
        Assert.Equal(0, decodes);
    }

    [Fact]
    public void Tokenizing_features_other_than_log_magnitudes_is_refused_before_clustering()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp)]);
        var pipeline = ml.Transforms.LoadAudio(sampleRate: 8000, channels: 1).Append(ml.Transforms.VectorizeFft(frameSize: 256)).Append(Tokenize(ml));
        var e = Assert.Throws<ArgumentException>(() => pipeline.Fit(files));
        Assert.StartsWith("Tokenize: column 'Features' holds Seed2017 features; the codebook learns LogMagnitude frames.", e.Message);
    }

    [Fact]
    public void A_prediction_engine_is_pointed_to_the_generator()
    {
        var model = ModelFile.Load(new MLContext(), Path.Combine(AppContext.BaseDirectory, "Models", "format1-token.zip"));
        var e = Assert.ThrowsAny<Exception>(() => new MLContext().Model.CreatePredictionEngine<PathRow, PathRow>(model));
        while (e.InnerException is not null && !e.Message.Contains("MusicGenerator", StringComparison.Ordinal)) e = e.InnerException;
        Assert.Contains("a PredictionEngine cannot run a MusicGen pipeline: generate with new MusicGenerator(model)", e.Message);
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }
}
