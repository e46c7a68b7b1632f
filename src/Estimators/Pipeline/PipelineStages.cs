using Microsoft.ML;
using MusicGen.Transforms;

namespace MusicGen;

/// <summary>
/// The stages of a fitted (or loaded) MusicGen pipeline, found once by type, checked to fit together: the one way the
/// generator, the evaluator and the command line find them.
/// </summary>
public sealed record PipelineStages(AudioLoadingTransformer Loader, FftVectorizingTransformer Vectorizer, FeatureNormalizingTransformer? Normalizer,
    TokenizingTransformer? Tokenizer, LstmForecastingTransformer Network)
{
    /// <summary>Finds the stages of <paramref name="model"/>, looking inside nested chains.</summary>
    /// <exception cref="ArgumentException">A stage is missing, or the stages do not fit together; the message says which.</exception>
    public static PipelineStages Of(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var stages = ModelFile.Stages(model).ToList();
        var loader = stages.OfType<AudioLoadingTransformer>().FirstOrDefault()
            ?? throw new ArgumentException("The pipeline has no audio-loading stage (LoadAudio).", nameof(model));
        var vectorizer = stages.OfType<FftVectorizingTransformer>().FirstOrDefault()
            ?? throw new ArgumentException("The pipeline has no vectorizing stage (VectorizeFft).", nameof(model));
        var network = stages.OfType<LstmForecastingTransformer>().FirstOrDefault()
            ?? throw new ArgumentException("The pipeline has no LSTM stage (PredictNextFrame).", nameof(model));
        var normalizer = stages.OfType<FeatureNormalizingTransformer>().FirstOrDefault();
        var tokenizer = stages.OfType<TokenizingTransformer>().FirstOrDefault();
        if (network.PredictsTokens)
        {
            if (tokenizer is null) throw new ArgumentException("The pipeline's LSTM predicts tokens but it has no tokenizing stage (Tokenize).", nameof(model));
            if (tokenizer.Codebook.TokenCount != network.OutputSize || tokenizer.Codebook.Bins != vectorizer.FeatureSize)
                throw new ArgumentException($"The LSTM predicts {network.OutputSize} tokens and the codebook has {tokenizer.Codebook.TokenCount} of {tokenizer.Codebook.Bins} values; the vectorizer gives {vectorizer.FeatureSize}.", nameof(model));
        }
        else if (network.FeatureSize != vectorizer.FeatureSize)
            throw new ArgumentException($"The LSTM expects {network.FeatureSize} values per frame but the vectorizer gives {vectorizer.FeatureSize}.", nameof(model));
        return new PipelineStages(loader, vectorizer, normalizer, tokenizer, network);
    }
}
