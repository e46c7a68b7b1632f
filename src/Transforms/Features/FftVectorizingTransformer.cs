using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MusicGen.Transforms.Data;
using MusicGen.Transforms.Spectral;

namespace MusicGen.Transforms;

/// <summary>
/// Cuts each file's samples into frames and turns each frame into a feature vector with <see cref="SpectralTransform"/>
/// (the 2017 full-FFT framing, a windowed complex STFT, log magnitudes or log mel bands). One row per file in, one row
/// per frame out, with columns File (text), FrameIndex (Int32), Time (seconds, Single) and the features (a vector of
/// Single of size <see cref="FeatureSize"/>). Other input columns are not carried.
/// Produced by <c>mlContext.Transforms.VectorizeFft</c>; disposing it frees its precomputed tensors.
/// </summary>
public sealed class FftVectorizingTransformer : MusicGenTransformerBase, IDisposable
{
    internal const string LoaderSignature = "MusicGenFftVectorizing";

    internal FftVectorizingTransformer(ColumnNames columns, SpectralSettings settings, int sampleRate, int channels)
    {
        if (channels is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 or 2.");
        Names = columns;
        Spectral = new SpectralTransform(settings, sampleRate);
        Channels = channels;
    }

    /// <summary>Input and output column names.</summary>
    public ColumnNames Names { get; }

    /// <summary>The analysis and its inverse.</summary>
    public SpectralTransform Spectral { get; }

    /// <summary>The analysis settings.</summary>
    public SpectralSettings Settings => Spectral.Settings;

    /// <summary>The sample rate frames are timed against (the loader's).</summary>
    public int SampleRate => Spectral.SampleRate;

    /// <summary>Channels each frame holds.</summary>
    public int Channels { get; }

    /// <summary>Values per frame.</summary>
    public int FeatureSize => Spectral.FeatureSize(Channels);

    /// <summary>Frames per second of audio.</summary>
    public double FramesPerSecond => (double)SampleRate / Spectral.Hop;

    /// <summary>Features of a whole clip, frame-major (see <see cref="SpectralTransform.Direct"/>).</summary>
    public float[] Vectorize(float[][] channels)
    {
        if (channels.Length != Channels)
            throw new ArgumentException($"Expected {Channels} channel(s), got {channels.Length}.", nameof(channels));
        return Spectral.Direct(channels);
    }

    /// <summary>
    /// Samples from frame-major features: exact for the complex representations, a Griffin-Lim phase estimate seeded
    /// with <paramref name="seed"/> for the log ones.
    /// </summary>
    public float[][] Invert(ReadOnlySpan<float> features, int seed = 0, int iterations = 0) => Spectral.Inverse(features, Channels, seed, iterations);

    /// <summary>Frees the precomputed tensors.</summary>
    public void Dispose() => Spectral.Dispose();

    /// <inheritdoc/>
    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema);
        return ColumnDef<FrameRow>.Schema(Columns());
    }

    /// <summary>
    /// Bytes of features each transformed view keeps, so that the passes of one fit run the analysis once per file;
    /// when the data does not fit, nothing is kept and later passes analyse again. Not saved: a loaded model uses the default, 256 MiB.
    /// </summary>
    public long CacheBytes { get; init; } = DefaultCacheBytes;

    /// <summary>The default of <see cref="CacheBytes"/>: 256 MiB.</summary>
    public const long DefaultCacheBytes = 256L << 20;

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        CheckInput(input.Schema);
        // Keyed by row and file: the same input row gives the same frames on every pass over this view.
        var cache = new BoundedCache<(long Row, string File), float[]>(CacheBytes, f => (long)f.Length * sizeof(float));
        return new RowsDataView<FrameRow>(Columns(), () => Frames(input, cache));
    }

    private void CheckInput(DataViewSchema schema)
    {
        SchemaCheck.RequireText(schema, Names.Path);
        SchemaCheck.RequireFloatVector(schema, Names.Samples, knownSize: false);
        SchemaCheck.RequireInt32(schema, Names.SampleRate);
        SchemaCheck.RequireInt32(schema, Names.Channels);
    }

    private IEnumerable<FrameRow> Frames(IDataView input, BoundedCache<(long Row, string File), float[]> cache)
    {
        var s = input.Schema;
        var cols = new[] { s[Names.Path], s[Names.Samples], s[Names.SampleRate], s[Names.Channels] };
        using var cursor = input.GetRowCursor(cols);
        var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(cols[0]);
        var getSamples = cursor.GetGetter<VBuffer<float>>(cols[1]);
        var getRate = cursor.GetGetter<int>(cols[2]);
        var getChannels = cursor.GetGetter<int>(cols[3]);
        ReadOnlyMemory<char> path = default;
        VBuffer<float> samples = default;
        int rate = 0, channels = 0;
        int dim = FeatureSize;
        while (cursor.MoveNext())
        {
            getPath(ref path);
            string file = path.ToString();
            var features = cache.GetOrAdd((cursor.Position, file), _ =>
            {
                getSamples(ref samples);
                getRate(ref rate);
                getChannels(ref channels);
                if (channels != Channels)
                    throw new InvalidDataException($"{Path.GetFileName(file)}: {channels} channel(s), but the pipeline was fitted on {Channels}");
                if (rate != SampleRate)
                    throw new InvalidDataException($"{Path.GetFileName(file)}: {rate} Hz, but the pipeline was fitted on {SampleRate} Hz");
                var values = samples.GetValues();
                if (!samples.IsDense) values = Vectors.Dense(samples);
                int length = values.Length / channels;
                var planar = new float[channels][];
                for (int c = 0; c < channels; c++) planar[c] = values.Slice(c * length, length).ToArray();
                return Spectral.Direct(planar);
            });
            int frames = features.Length / dim;
            float secondsPerFrame = (float)Spectral.Hop / SampleRate;
            for (int f = 0; f < frames; f++)
                yield return new FrameRow(file, f, f * secondsPerFrame, features.AsMemory(f * dim, dim));
        }
    }

    private ColumnDef<FrameRow>[] Columns() =>
    [
        ColumnDef<FrameRow>.Text(Names.File, r => r.File),
        ColumnDef<FrameRow>.Int32(Names.FrameIndex, r => r.Index),
        ColumnDef<FrameRow>.Single(Names.Time, r => r.Time),
        ColumnDef<FrameRow>.Vector(Names.Features, FeatureSize, r => r.Features).With(FeatureAnnotations()),
    ];

    /// <summary>Annotation of the features column: its representation (text), so later stages can check what they get.</summary>
    public const string RepresentationKind = "Representation";

    private DataViewSchema.Annotations FeatureAnnotations()
    {
        var builder = new DataViewSchema.Annotations.Builder();
        string representation = Settings.Representation.ToString();
        builder.Add(RepresentationKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> v) => v = representation.AsMemory());
        return builder.ToAnnotations();
    }

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    private static VersionInfo GetVersionInfo() => MakeVersion("MGFFTVEC", LoaderSignature, typeof(FftVectorizingTransformer));

    private protected override void SaveModel(BinaryWriter writer, ModelSaveContext ctx)
    {
        Names.Write(writer);
        Settings.Write(writer);
        writer.Write(SampleRate);
        writer.Write(Channels);
    }

    private static FftVectorizingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        CheckFormat(ctx, GetVersionInfo(), "FFT-vectorizing");
        var r = ctx.Reader;
        var names = ColumnNames.Read(r);
        var settings = SpectralSettings.Read(r);
        int sampleRate = r.ReadInt32(), channels = r.ReadInt32();
        try
        {
            settings.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"The model's spectral settings are damaged: {e.Message}", e);
        }
        return new FftVectorizingTransformer(names, settings, sampleRate, channels);
    }

    private sealed record FrameRow(string File, int Index, float Time, ReadOnlyMemory<float> Features);

    /// <summary>Column names of <see cref="FftVectorizingTransformer"/>.</summary>
    /// <param name="Path">Input: file path (text).</param>
    /// <param name="Samples">Input: planar samples.</param>
    /// <param name="SampleRate">Input: sample rate.</param>
    /// <param name="Channels">Input: channel count.</param>
    /// <param name="File">Output: file path.</param>
    /// <param name="FrameIndex">Output: frame number within the file.</param>
    /// <param name="Time">Output: frame start in seconds.</param>
    /// <param name="Features">Output: feature vector.</param>
    public sealed record ColumnNames(string Path, string Samples, string SampleRate, string Channels,
        string File, string FrameIndex, string Time, string Features)
    {
        internal void Write(BinaryWriter w)
        {
            foreach (var s in new[] { Path, Samples, SampleRate, Channels, File, FrameIndex, Time, Features }) w.Write(s);
        }

        internal static ColumnNames Read(BinaryReader r) =>
            new(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString());
    }
}
