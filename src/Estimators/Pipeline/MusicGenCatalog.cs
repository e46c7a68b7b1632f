using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Estimators;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;

namespace MusicGen;

/// <summary>The catalog verbs that build MusicGen pipelines: <c>mlContext.Transforms.LoadAudio(...)</c> and so on.</summary>
public static class MusicGenCatalog
{
    /// <summary>A view with one text column (default "Path") listing audio files; folders are expanded recursively.</summary>
    /// <exception cref="FileNotFoundException">A path does not exist.</exception>
    public static IDataView LoadAudioFiles(this DataOperationsCatalog catalog, IEnumerable<string> paths,
        string columnName = AudioLoadingEstimator.Defaults.PathColumn)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var files = AudioFile.Expand(paths);
        return new Transforms.Data.RowsDataView<string>([Transforms.Data.ColumnDef<string>.Text(columnName, f => f)], () => files);
    }

    /// <summary>Decodes the audio files named in <paramref name="inputColumnName"/> (see <see cref="AudioLoadingEstimator"/>).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="inputColumnName">Text column with file paths.</param>
    /// <param name="sampleRate">Sample rate every file is resampled to; 0 takes the first file's.</param>
    /// <param name="channels">1 or 2 channels; 0 takes the first file's (at most 2).</param>
    public static AudioLoadingEstimator LoadAudio(this TransformsCatalog catalog, string inputColumnName = AudioLoadingEstimator.Defaults.PathColumn,
        int sampleRate = AudioLoadingEstimator.Defaults.SampleRate, int channels = AudioLoadingEstimator.Defaults.Channels) =>
        catalog.LoadAudio(new AudioLoadingEstimator.Options { InputColumnName = inputColumnName, SampleRate = sampleRate, Channels = channels });

    /// <summary>Decodes audio files (see <see cref="AudioLoadingEstimator"/>).</summary>
    public static AudioLoadingEstimator LoadAudio(this TransformsCatalog catalog, AudioLoadingEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new AudioLoadingEstimator(options);
    }

    /// <summary>Frames decoded audio and takes each frame's FFT (see <see cref="FftVectorizingEstimator"/>).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="frameSize">Samples per frame (N).</param>
    /// <param name="scale">Factor applied to the FFT; null for the 2017 code's 1/(N/2).</param>
    public static FftVectorizingEstimator VectorizeFft(this TransformsCatalog catalog, int frameSize = FftVectorizingEstimator.Defaults.FrameSize, float? scale = null) =>
        catalog.VectorizeFft(new FftVectorizingEstimator.Options { FrameSize = frameSize, Scale = scale });

    /// <summary>Frames decoded audio and takes each frame's FFT (see <see cref="FftVectorizingEstimator"/>).</summary>
    public static FftVectorizingEstimator VectorizeFft(this TransformsCatalog catalog, FftVectorizingEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new FftVectorizingEstimator(options);
    }

    /// <summary>Standardises each feature dimension with statistics learned while fitting (see <see cref="FeatureNormalizingEstimator"/>).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="inputColumnName">The features column.</param>
    /// <param name="outputColumnName">The normalised column; null replaces the input column (by name).</param>
    public static FeatureNormalizingEstimator NormalizeFeatures(this TransformsCatalog catalog, string inputColumnName = FftVectorizingEstimator.Defaults.FeaturesColumn,
        string? outputColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new FeatureNormalizingEstimator(inputColumnName, outputColumnName ?? inputColumnName);
    }

    /// <summary>Learns a codebook of frames and turns each frame into a token (see <see cref="TokenizingEstimator"/>).</summary>
    public static TokenizingEstimator Tokenize(this TransformsCatalog catalog, TokenizingEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TokenizingEstimator(options);
    }

    /// <summary>Orders frames into stateful batches (see <see cref="StatefulBatchingEstimator"/>).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="ordering">How frames are assigned to streams.</param>
    /// <param name="batchSize">Rows per batch (state streams).</param>
    public static StatefulBatchingEstimator BatchStatefully(this TransformsCatalog catalog, BatchOrdering ordering = StatefulBatchingEstimator.Defaults.Ordering,
        int batchSize = StatefulBatchingEstimator.Defaults.BatchSize) =>
        catalog.BatchStatefully(new StatefulBatchingEstimator.Options { Ordering = ordering, BatchSize = batchSize });

    /// <summary>Orders frames into stateful batches (see <see cref="StatefulBatchingEstimator"/>).</summary>
    public static StatefulBatchingEstimator BatchStatefully(this TransformsCatalog catalog, StatefulBatchingEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new StatefulBatchingEstimator(options);
    }

    /// <summary>Trains an LSTM that predicts the next frame (see <see cref="LstmForecastingEstimator"/>).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="layers">LSTM layers; dropout follows the 2017 rates for three layers, 0.2 for any beyond.</param>
    /// <param name="hiddenSize">Units per layer.</param>
    public static LstmForecastingEstimator PredictNextFrame(this TransformsCatalog catalog, int epochs = LstmForecastingEstimator.Defaults.Epochs,
        int layers = LstmForecastingEstimator.Defaults.Layers, int hiddenSize = LstmForecastingEstimator.Defaults.HiddenSize) =>
        catalog.PredictNextFrame(new LstmForecastingEstimator.Options
        {
            Epochs = epochs,
            HiddenSizes = Enumerable.Repeat(hiddenSize, Math.Max(layers, 0)).ToArray(),
            Dropouts = Enumerable.Range(0, Math.Max(layers, 0)).Select(i => i < 3 ? LstmForecastingEstimator.Defaults.Dropouts[i] : 0.2f).ToArray(),
        });

    /// <summary>Trains an LSTM that predicts the next frame (see <see cref="LstmForecastingEstimator"/>).</summary>
    public static LstmForecastingEstimator PredictNextFrame(this TransformsCatalog catalog, LstmForecastingEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LstmForecastingEstimator(options);
    }
}
