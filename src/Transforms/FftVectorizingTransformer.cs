using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MusicGen.Transforms.Data;
using MusicGen.Transforms.Spectral;

namespace MusicGen.Transforms;

/// <summary>
/// Cuts each file's samples into frames and turns each frame into a feature vector with <see cref="FftFraming"/>.
/// One row per file in, one row per frame out, with columns File (text), FrameIndex (Int32), Time (seconds, Single)
/// and the features (a vector of Single of size <see cref="FeatureSize"/>). Other input columns are not carried.
/// Produced by <c>mlContext.Transforms.VectorizeFft</c>.
/// </summary>
public sealed class FftVectorizingTransformer : MusicGenTransformerBase
{
    internal const string LoaderSignature = "MusicGenFftVectorizing";

    internal FftVectorizingTransformer(ColumnNames columns, int frameSize, float scale, int channels)
    {
        if (channels is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 or 2.");
        Names = columns;
        Framing = new FftFraming(frameSize, scale);
        Channels = channels;
    }

    /// <summary>Input and output column names.</summary>
    public ColumnNames Names { get; }

    /// <summary>The framing and its inverse.</summary>
    public FftFraming Framing { get; }

    /// <summary>Channels each frame holds.</summary>
    public int Channels { get; }

    /// <summary>Values per frame.</summary>
    public int FeatureSize => Framing.FeatureSize(Channels);

    /// <summary>Features of a whole clip, frame-major (see <see cref="FftFraming.Direct"/>).</summary>
    public float[] Vectorize(float[][] channels)
    {
        if (channels.Length != Channels)
            throw new ArgumentException($"Expected {Channels} channel(s), got {channels.Length}.", nameof(channels));
        return Framing.Direct(channels);
    }

    /// <summary>Samples from frame-major features: the exact inverse of <see cref="Vectorize"/>.</summary>
    public float[][] Invert(ReadOnlySpan<float> features) => Framing.Inverse(features, Channels);

    /// <inheritdoc/>
    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema);
        return ColumnDef<FrameRow>.Schema(Columns());
    }

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        CheckInput(input.Schema);
        return new RowsDataView<FrameRow>(Columns(), () => Frames(input));
    }

    private void CheckInput(DataViewSchema schema)
    {
        SchemaCheck.RequireText(schema, Names.Path);
        SchemaCheck.RequireFloatVector(schema, Names.Samples, knownSize: false);
        SchemaCheck.RequireInt32(schema, Names.SampleRate);
        SchemaCheck.RequireInt32(schema, Names.Channels);
    }

    private IEnumerable<FrameRow> Frames(IDataView input)
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
            getSamples(ref samples);
            getRate(ref rate);
            getChannels(ref channels);
            string file = path.ToString();
            if (channels != Channels)
                throw new InvalidDataException($"{Path.GetFileName(file)}: {channels} channel(s), but the pipeline was fitted on {Channels}");
            var dense = samples.DenseValues().ToArray();
            int length = dense.Length / channels;
            var planar = new float[channels][];
            for (int c = 0; c < channels; c++) planar[c] = dense.AsSpan(c * length, length).ToArray();
            var features = Framing.Direct(planar);
            int frames = features.Length / dim;
            float secondsPerFrame = (float)Framing.FrameSize / rate;
            for (int f = 0; f < frames; f++)
                yield return new FrameRow(file, f, f * secondsPerFrame, features.AsMemory(f * dim, dim));
        }
    }

    private ColumnDef<FrameRow>[] Columns() =>
    [
        ColumnDef<FrameRow>.Text(Names.File, r => r.File),
        ColumnDef<FrameRow>.Int32(Names.FrameIndex, r => r.Index),
        ColumnDef<FrameRow>.Single(Names.Time, r => r.Time),
        ColumnDef<FrameRow>.Vector(Names.Features, FeatureSize, r => r.Features),
    ];

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    private static VersionInfo GetVersionInfo() => MakeVersion("MGFFTVEC", LoaderSignature, typeof(FftVectorizingTransformer));

    private protected override void SaveModel(BinaryWriter writer, ModelSaveContext ctx)
    {
        Names.Write(writer);
        writer.Write(Framing.FrameSize);
        writer.Write(Framing.Scale);
        writer.Write(Channels);
    }

    private static FftVectorizingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var r = ctx.Reader;
        return new FftVectorizingTransformer(ColumnNames.Read(r), r.ReadInt32(), r.ReadSingle(), r.ReadInt32());
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
