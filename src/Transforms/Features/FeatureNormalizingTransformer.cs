using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MusicGen.Transforms.Data;

namespace MusicGen.Transforms;

/// <summary>
/// Per-dimension standardisation learned during fitting: each value becomes (x - mean) / standard deviation, so the
/// network sees numbers of order one; <see cref="Denormalize"/> undoes it exactly (up to float rounding) at generation.
/// Dimensions that never vary keep a divisor of 1. Adds (or replaces, by name) one column of the same size.
/// Produced by fitting <c>mlContext.Transforms.NormalizeFeatures</c>.
/// </summary>
public sealed class FeatureNormalizingTransformer : MusicGenTransformerBase
{
    internal const string LoaderSignature = "MusicGenFeatureNormalize";

    internal FeatureNormalizingTransformer(string inputColumnName, string outputColumnName, float[] mean, float[] standardDeviation)
    {
        if (mean.Length != standardDeviation.Length || mean.Length == 0)
            throw new ArgumentException("Mean and standard deviation must have the same, non-zero length.", nameof(mean));
        if (standardDeviation.Any(s => !(s > 0) || !float.IsFinite(s)) || mean.Any(m => !float.IsFinite(m)))
            throw new ArgumentException("Means must be finite and standard deviations positive.", nameof(standardDeviation));
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        mean.CopyTo(this.mean = new float[mean.Length], 0);
        standardDeviation.CopyTo(std = new float[mean.Length], 0);
    }

    private readonly float[] mean;
    private readonly float[] std;

    /// <summary>The features column read.</summary>
    public string InputColumnName { get; }

    /// <summary>The normalised column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>Per-dimension mean learned during fitting.</summary>
    public IReadOnlyList<float> Mean => mean;

    /// <summary>Per-dimension standard deviation learned during fitting (1 where a dimension never varies).</summary>
    public IReadOnlyList<float> StandardDeviation => std;

    /// <summary>Normalises frame-major features in place.</summary>
    public void Normalize(Span<float> frames)
    {
        for (int start = 0; start + mean.Length <= frames.Length; start += mean.Length)
        {
            var frame = frames.Slice(start, mean.Length);
            for (int d = 0; d < frame.Length; d++) frame[d] = (frame[d] - mean[d]) / std[d];
        }
    }

    /// <summary>Undoes <see cref="Normalize"/> in place.</summary>
    public void Denormalize(Span<float> frames)
    {
        for (int start = 0; start + mean.Length <= frames.Length; start += mean.Length)
        {
            var frame = frames.Slice(start, mean.Length);
            for (int d = 0; d < frame.Length; d++) frame[d] = frame[d] * std[d] + mean[d];
        }
    }

    /// <inheritdoc/>
    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Check(inputSchema).Schema;

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        Check(input.Schema);
        return Map(input);
    }

    private MappedColumnDataView Map(IDataView input) => new(input, InputColumnName, OutputColumnName, (source, target) =>
    {
        source.CopyTo(target);
        Normalize(target);
    });

    private MappedColumnDataView Check(DataViewSchema schema)
    {
        var column = SchemaCheck.RequireFloatVector(schema, InputColumnName, knownSize: true);
        if (SchemaCheck.VectorSize(column) != Mean.Count)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Column '{InputColumnName}' has {SchemaCheck.VectorSize(column)} values; the normaliser was fitted on {Mean.Count}.");
        return Map(new EmptyView(schema));
    }

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    private static VersionInfo GetVersionInfo() => MakeVersion("MGNORMAL", LoaderSignature, typeof(FeatureNormalizingTransformer));

    private protected override void SaveModel(BinaryWriter writer, ModelSaveContext ctx)
    {
        writer.Write(InputColumnName);
        writer.Write(OutputColumnName);
        writer.Write(Mean.Count);
        foreach (var m in Mean) writer.Write(m);
        foreach (var s in StandardDeviation) writer.Write(s);
    }

    private static FeatureNormalizingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        CheckFormat(ctx, GetVersionInfo(), "feature-normalizing");
        var r = ctx.Reader;
        string input = r.ReadString(), output = r.ReadString();
        int n = r.ReadInt32();
        if (n <= 0 || n > 1 << 24) throw new InvalidDataException($"The model's normaliser is damaged ({n} dimensions).");
        var means = Enumerable.Range(0, n).Select(_ => r.ReadSingle()).ToArray();
        var deviations = Enumerable.Range(0, n).Select(_ => r.ReadSingle()).ToArray();
        return new FeatureNormalizingTransformer(input, output, means, deviations);
    }
}
