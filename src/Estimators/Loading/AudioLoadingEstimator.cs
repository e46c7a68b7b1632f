using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;

namespace MusicGen.Estimators;

/// <summary>
/// Decodes audio files named in a text column. Input: the path column (text). Output: the input's columns plus planar
/// samples (variable-length vector of Single), sample rate (Int32) and channel count (Int32). Fitting does not
/// train: it fixes the sample rate and channel count, from the options or else from the first file; files
/// at other rates are resampled and other channel counts mixed.
/// Created by <see cref="MusicGenCatalog.LoadAudio(TransformsCatalog, string, int, int)"/>.
/// </summary>
public sealed class AudioLoadingEstimator : IEstimator<AudioLoadingTransformer>
{
    private readonly Options options;

    internal AudioLoadingEstimator(Options options)
    {
        options.Validate();
        this.options = options;
    }

    /// <summary>The input column of file paths.</summary>
    internal string PathColumnName => options.InputColumnName;

    /// <summary>Default values of <see cref="Options"/>.</summary>
    public static class Defaults
    {
        /// <summary>Input column with file paths.</summary>
        public const string PathColumn = "Path";
        /// <summary>Output column with planar samples.</summary>
        public const string SamplesColumn = "Samples";
        /// <summary>Output column with the sample rate.</summary>
        public const string SampleRateColumn = "SampleRate";
        /// <summary>Output column with the channel count.</summary>
        public const string ChannelsColumn = "Channels";
        /// <summary>0: take the first file's sample rate.</summary>
        public const int SampleRate = 0;
        /// <summary>0: take the first file's channel count (at most 2).</summary>
        public const int Channels = 0;
        /// <summary>MiB of decoded audio kept while fitting.</summary>
        public const int CacheMegabytes = (int)(AudioLoadingTransformer.DefaultCacheBytes >> 20);
    }

    /// <summary>Options of <see cref="AudioLoadingEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>Input column with file paths. Default "Path".</summary>
        public string InputColumnName { get; set; } = Defaults.PathColumn;
        /// <summary>Output column with planar samples. Default "Samples".</summary>
        public string SamplesColumnName { get; set; } = Defaults.SamplesColumn;
        /// <summary>Output column with sample rates. Default "SampleRate".</summary>
        public string SampleRateColumnName { get; set; } = Defaults.SampleRateColumn;
        /// <summary>Output column with channel counts. Default "Channels".</summary>
        public string ChannelsColumnName { get; set; } = Defaults.ChannelsColumn;
        /// <summary>Sample rate every file is resampled to; 0 (default) takes the first file's.</summary>
        public int SampleRate { get; set; } = Defaults.SampleRate;
        /// <summary>Channels (1 or 2) every file is converted to; 0 (default) takes the first file's, at most 2.</summary>
        public int Channels { get; set; } = Defaults.Channels;
        /// <summary>
        /// Leave out the rows of files that cannot be decoded, reporting each through <see cref="Warning"/>, instead of
        /// stopping with the first one's error. Default false.
        /// </summary>
        public bool SkipUnreadable { get; set; }
        /// <summary>
        /// Megabytes (MiB) of decoded audio kept while fitting, so that every file is decoded once however many stages
        /// read it; when the collection does not fit, nothing is kept and later passes decode again. Default 256.
        /// </summary>
        public int CacheMegabytes { get; set; } = Defaults.CacheMegabytes;
        /// <summary>
        /// Longest piece of a file decoded at once, in seconds (0: whole files): a longer file becomes consecutive rows of
        /// at most this long with the same path, read by later stages as one file, so memory follows this, not the
        /// longest file. Default 600.
        /// </summary>
        public double SegmentSeconds { get; set; } = AudioLoadingTransformer.DefaultSegmentSeconds;
        /// <summary>
        /// Called with one line for each file skipped, or decoded with a warning (a truncated WAV). Not saved with the model.
        /// </summary>
        public Action<LoadWarning>? Warning { get; set; }

        internal void Validate()
        {
            var problems = new List<string>();
            if (SampleRate < 0) problems.Add($"SampleRate must be 0 (from the data) or positive, not {SampleRate}.");
            if (Channels is not (0 or 1 or 2)) problems.Add($"Channels must be 0 (from the data), 1 or 2, not {Channels}.");
            if (CacheMegabytes < 0) problems.Add($"CacheMegabytes must be 0 (no cache) or more, not {CacheMegabytes}.");
            if (!(SegmentSeconds == 0 || SegmentSeconds >= 10 && SegmentSeconds <= 86400))
                problems.Add($"SegmentSeconds must be 0 (whole files) or 10 to 86400, not {SegmentSeconds}.");
            foreach (var (name, value) in new[] { (nameof(InputColumnName), InputColumnName), (nameof(SamplesColumnName), SamplesColumnName),
                         (nameof(SampleRateColumnName), SampleRateColumnName), (nameof(ChannelsColumnName), ChannelsColumnName) })
            {
                if (string.IsNullOrWhiteSpace(value)) problems.Add($"{name} must not be empty.");
            }
            if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        }
    }

    /// <summary>
    /// Fixes the sample rate and channel count, reading the start of the first (decodable) file when the options leave
    /// them at 0.
    /// </summary>
    public AudioLoadingTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        int rate = options.SampleRate, channels = options.Channels;
        if (rate == 0 || channels == 0)
        {
            var first = FirstClip(input);
            if (rate == 0) rate = first.SampleRate;
            if (channels == 0) channels = Math.Min(first.ChannelCount, 2);
        }
        return new AudioLoadingTransformer(options.InputColumnName, options.SamplesColumnName, options.SampleRateColumnName,
            options.ChannelsColumnName, rate, channels, options.SkipUnreadable)
        {
            CacheBytes = (long)options.CacheMegabytes << 20,
            SegmentSeconds = options.SegmentSeconds,
            Warning = options.Warning,
        };
    }

    /// <summary>A short excerpt of the first file that decodes (with <see cref="Options.SkipUnreadable"/>; else of the first file).</summary>
    private AudioClip FirstClip(IDataView input)
    {
        var pathColumn = input.Schema[options.InputColumnName];
        using var cursor = input.GetRowCursor([pathColumn]);
        var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(pathColumn);
        ReadOnlyMemory<char> path = default;
        while (cursor.MoveNext())
        {
            getPath(ref path);
            try
            {
                return AudioFile.Read(path.ToString(), 0, 0.1);
            }
            catch (InvalidDataException) when (options.SkipUnreadable)
            {
                // The loader's view reports it when it reaches that row.
            }
        }
        throw new InvalidOperationException("There is no data to fit on: no decodable audio files were given.");
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireText(inputSchema, options.InputColumnName);
        return SchemaShapes.Append(inputSchema,
            SchemaShapes.Vector(options.SamplesColumnName, knownSize: false),
            SchemaShapes.Scalar(options.SampleRateColumnName, NumberDataViewType.Int32),
            SchemaShapes.Scalar(options.ChannelsColumnName, NumberDataViewType.Int32));
    }
}
