using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Estimators;
using MusicGen.Estimators.Training;

namespace MusicGen;

/// <summary>
/// A whole MusicGen pipeline as one estimator: audio loading, FFT vectorizing, then normalisation or tokens, stateful
/// batching and the LSTM trainer, fitted in that order, each stage on the previous one's output, into the same
/// <see cref="TransformerChain{TLastTransformer}"/> that chaining the catalog verbs gives. Fitting it as one lets the
/// stages share what they must agree on, explicitly: the audio validation holds out is chosen once from the files
/// that decode and the batches' layout (<see cref="HoldOut"/>) and given to the tokenizer and the trainer alike, and every epoch's preview
/// sees the whole pipeline as it stands. While the collection fits the views' caches (256 MiB of audio, 256 MiB of
/// frames), every file is decoded and analysed once. Built by <see cref="Presets.TokenModel"/> and <see cref="Presets.Seed2017Model"/>; keeps no
/// state after <see cref="Fit"/>.
/// </summary>
public sealed class MusicPipelineEstimator : IEstimator<TransformerChain<ITransformer>>
{
    private readonly AudioLoadingEstimator loader;
    private readonly FftVectorizingEstimator vectorizer;
    private readonly FeatureNormalizingEstimator? normalizer;
    private readonly TokenizingEstimator? tokenizer;
    private readonly StatefulBatchingEstimator batcher;
    private readonly LstmForecastingEstimator network;
    private readonly double validationFraction;
    private readonly Action<ITransformer, int>? epochEnd;
    private readonly Action<HoldOut>? holdOutChosen;

    internal MusicPipelineEstimator(AudioLoadingEstimator loader, FftVectorizingEstimator vectorizer, FeatureNormalizingEstimator? normalizer,
        TokenizingEstimator? tokenizer, StatefulBatchingEstimator batcher, LstmForecastingEstimator network, double validationFraction,
        Action<ITransformer, int>? epochEnd, Action<HoldOut>? holdOutChosen = null)
    {
        this.loader = loader;
        this.vectorizer = vectorizer;
        this.normalizer = normalizer;
        this.tokenizer = tokenizer;
        this.batcher = batcher;
        this.network = network;
        this.validationFraction = validationFraction;
        this.epochEnd = epochEnd;
        this.holdOutChosen = holdOutChosen;
    }

    private IEnumerable<IEstimator<ITransformer>> Stages() =>
        new IEstimator<ITransformer>?[] { loader, vectorizer, normalizer, tokenizer, batcher, network }.OfType<IEstimator<ITransformer>>();

    /// <summary>Fits every stage in order and returns the fitted chain.</summary>
    public TransformerChain<ITransformer> Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        var fitted = new List<ITransformer>();
        try
        {
            IDataView Add(ITransformer stage, IDataView data)
            {
                fitted.Add(stage);
                return stage.Transform(data);
            }
            var loaded = Add(loader.Fit(input), input);
            // The files that decode (the loader's view leaves out those it skips).
            var holdOut = HoldOut.Choose(validationFraction > 0 ? Transforms.Batching.FileFrames.Names(loaded, loader.PathColumnName) : null, validationFraction,
                batcher.Ordering, batcher.BatchSize);
            holdOutChosen?.Invoke(holdOut);
            var features = Add(vectorizer.Fit(loaded), loaded);
            if (normalizer is not null) features = Add(normalizer.Fit(features), features);
            if (tokenizer is not null) features = Add(tokenizer.Fit(features, holdOut), features);
            var batches = Add(batcher.Fit(features), features);
            var upstream = fitted.ToArray();
            fitted.Add(network.Fit(batches, holdOut, epochEnd is null ? null
                : (current, epoch) => epochEnd(new TransformerChain<ITransformer>([.. upstream, current]), epoch)));
            return new TransformerChain<ITransformer>(fitted.ToArray());
        }
        catch
        {
            foreach (var stage in fitted.OfType<IDisposable>()) stage.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var shape = inputSchema;
        foreach (var stage in Stages()) shape = stage.GetOutputSchema(shape);
        return shape;
    }
}
