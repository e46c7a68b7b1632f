using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms;
using MusicGen.Transforms.Spectral;

namespace MusicGen.Estimators;

/// <summary>
/// Cuts decoded audio into frames and turns each into a feature vector. The default is the 2017 system's features:
/// non-overlapping rectangular frames and their full complex FFT (4N values for stereo: [L.re, L.im, R.re, R.im];
/// 2N for mono: [re, im]). Other <see cref="Representation"/>s use a windowed, overlapping STFT: the onesided complex
/// spectrum, log magnitudes, or log mel bands. Input: path (text), planar samples, sample rate and channels, as
/// <see cref="AudioLoadingEstimator"/> writes them. Output: one row per frame with File, FrameIndex, Time and Features.
/// Fitting does not train; it fixes the channel count and sample rate from the first file.
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
        /// <summary>The 2017 representation.</summary>
        public const Representation Representation = Transforms.Spectral.Representation.Seed2017;
        /// <summary>Mel bands for LogMel.</summary>
        public const int MelBands = 80;
        /// <summary>Griffin-Lim iterations when inverting the log representations.</summary>
        public const int GriffinLimIterations = 32;
        /// <summary>Floor added to magnitudes before the log (LogMagnitude).</summary>
        public const float MagnitudeFloor = 1e-5f;
        /// <summary>Floor added to band power before the log (LogMel), as docs/quality.md's measures use.</summary>
        public const float PowerFloor = 1e-10f;
    }

    /// <summary>Options of <see cref="FftVectorizingEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>Samples per frame (N). Default 256.</summary>
        public int FrameSize { get; set; } = Defaults.FrameSize;
        /// <summary>Factor applied to the FFT. Default (null): 1/(N/2), as the 2017 code did.</summary>
        public float? Scale { get; set; }
        /// <summary>What each frame holds. Default <see cref="Representation.Seed2017"/>.</summary>
        public Representation Representation { get; set; } = Defaults.Representation;
        /// <summary>Samples between frames. Default (0): N for Seed2017, N/4 otherwise.</summary>
        public int Hop { get; set; }
        /// <summary>Window. Default (null): rectangular for Seed2017, Hann otherwise.</summary>
        public WindowKind? Window { get; set; }
        /// <summary>Mel bands (LogMel). Default 80.</summary>
        public int MelBands { get; set; } = Defaults.MelBands;
        /// <summary>Floor added before the log. Default (null): 1e-5 on magnitude (LogMagnitude), 1e-10 on power (LogMel).</summary>
        public float? LogFloor { get; set; }
        /// <summary>Griffin-Lim iterations for inverting log representations. Default 32.</summary>
        public int GriffinLimIterations { get; set; } = Defaults.GriffinLimIterations;
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

        /// <summary>The analysis settings these options give, defaults filled in.</summary>
        public SpectralSettings Settings()
        {
            bool seed = Representation == Representation.Seed2017;
            return new SpectralSettings(Representation, FrameSize, Hop > 0 ? Hop : seed ? FrameSize : Math.Max(1, FrameSize / 4),
                Window ?? (seed ? WindowKind.Rectangular : WindowKind.Hann), Scale ?? 1f / (FrameSize / 2f), MelBands,
                LogFloor ?? (Representation == Representation.LogMel ? Defaults.PowerFloor : Defaults.MagnitudeFloor), GriffinLimIterations);
        }

        internal void Validate() => Settings().Validate();

        internal FftVectorizingTransformer.ColumnNames Names() => new(PathColumnName, SamplesColumnName, SampleRateColumnName,
            ChannelsColumnName, FileColumnName, FrameIndexColumnName, TimeColumnName, FeaturesColumnName);
    }

    /// <summary>Fixes the channel count and sample rate from the first row.</summary>
    public FftVectorizingTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        var first = SchemaShapes.FirstInt32(input, "no audio files were given", options.ChannelsColumnName, options.SampleRateColumnName);
        return new FftVectorizingTransformer(options.Names(), options.Settings(), first[1], first[0]);
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
