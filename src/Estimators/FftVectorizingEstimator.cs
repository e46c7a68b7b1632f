using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms;

namespace MusicGen.Estimators;

/// <summary>
/// Cuts decoded audio into non-overlapping frames and turns each into its full complex FFT, the 2017 system's
/// features. Input: path (text), planar samples, sample rate and channels, as <see cref="AudioLoadingEstimator"/>
/// writes them. Output: one row per frame with File, FrameIndex, Time and Features (4N values for stereo:
/// [L.re, L.im, R.re, R.im]; 2N for mono: [re, im]). Fitting does not train; it fixes the channel count.
/// Created by <see cref="MusicGenCatalog.VectorizeFft(TransformsCatalog, int, float?)"/>.
/// </summary>
public sealed class FftVectorizingEstimator : IEstimator<FftVectorizingTransformer>
{
    private readonly Options options;

    internal FftVectorizingEstimator(Options options)
    {
        options.Validate();
        this.options = options;
    }

    /// <summary>Default values of <see cref="Options"/>.</summary>
    public static class Defaults
    {
        /// <summary>Samples per frame, as in 2017.</summary>
        public const int FrameSize = 256;
        /// <summary>Output column of features.</summary>
        public const string FeaturesColumn = "Features";
        /// <summary>Output column of file paths.</summary>
        public const string FileColumn = "File";
        /// <summary>Output column of frame numbers.</summary>
        public const string FrameIndexColumn = "FrameIndex";
        /// <summary>Output column of frame start times in seconds.</summary>
        public const string TimeColumn = "Time";
    }

    /// <summary>Options of <see cref="FftVectorizingEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>Samples per frame (N). Default 256.</summary>
        public int FrameSize { get; set; } = Defaults.FrameSize;
        /// <summary>Factor applied to the FFT. Default (null): 1/(N/2), as the 2017 code did.</summary>
        public float? Scale { get; set; }
        /// <summary>Input path column. Default "Path".</summary>
        public string PathColumnName { get; set; } = AudioLoadingEstimator.Defaults.PathColumn;
        /// <summary>Input samples column. Default "Samples".</summary>
        public string SamplesColumnName { get; set; } = AudioLoadingEstimator.Defaults.SamplesColumn;
        /// <summary>Input sample-rate column. Default "SampleRate".</summary>
        public string SampleRateColumnName { get; set; } = AudioLoadingEstimator.Defaults.SampleRateColumn;
        /// <summary>Input channel-count column. Default "Channels".</summary>
        public string ChannelsColumnName { get; set; } = AudioLoadingEstimator.Defaults.ChannelsColumn;
        /// <summary>Output file column. Default "File".</summary>
        public string FileColumnName { get; set; } = Defaults.FileColumn;
        /// <summary>Output frame-number column. Default "FrameIndex".</summary>
        public string FrameIndexColumnName { get; set; } = Defaults.FrameIndexColumn;
        /// <summary>Output frame-time column. Default "Time".</summary>
        public string TimeColumnName { get; set; } = Defaults.TimeColumn;
        /// <summary>Output features column. Default "Features".</summary>
        public string FeaturesColumnName { get; set; } = Defaults.FeaturesColumn;

        internal float EffectiveScale => Scale ?? 1f / (FrameSize / 2f);

        internal void Validate()
        {
            var problems = new List<string>();
            if (FrameSize < 2) problems.Add($"FrameSize must be at least 2, not {FrameSize}.");
            if (Scale is { } s && (s == 0 || !float.IsFinite(s))) problems.Add($"Scale must be finite and non-zero, not {s}.");
            if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        }

        internal FftVectorizingTransformer.ColumnNames Names() => new(PathColumnName, SamplesColumnName, SampleRateColumnName,
            ChannelsColumnName, FileColumnName, FrameIndexColumnName, TimeColumnName, FeaturesColumnName);
    }

    /// <summary>Fixes the channel count from the first row.</summary>
    public FftVectorizingTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        int channels = SchemaShapes.FirstInt32(input, options.ChannelsColumnName, "no audio files were given");
        return new FftVectorizingTransformer(options.Names(), options.FrameSize, options.EffectiveScale, channels);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireText(inputSchema, options.PathColumnName);
        SchemaShapes.RequireFloatVector(inputSchema, options.SamplesColumnName);
        SchemaShapes.RequireInt32(inputSchema, options.SampleRateColumnName);
        SchemaShapes.RequireInt32(inputSchema, options.ChannelsColumnName);
        return new SchemaShape(
        [
            SchemaShapes.Scalar(options.FileColumnName, TextDataViewType.Instance),
            SchemaShapes.Scalar(options.FrameIndexColumnName, NumberDataViewType.Int32),
            SchemaShapes.Scalar(options.TimeColumnName, NumberDataViewType.Single),
            SchemaShapes.Vector(options.FeaturesColumnName, knownSize: true),
        ]);
    }
}
