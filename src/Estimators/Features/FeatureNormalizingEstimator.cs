using Microsoft.ML;
using MusicGen.Transforms;

namespace MusicGen.Estimators;

/// <summary>
/// Learns each feature dimension's mean and standard deviation (one pass, in double precision) and standardises the
/// features with them. Input: a fixed-size vector of Single. Output: the input's columns plus the normalised vector
/// (by default replacing "Features"). Trains (statistics only).
/// Created by <see cref="MusicGenCatalog.NormalizeFeatures(TransformsCatalog, string, string?)"/>.
/// </summary>
public sealed class FeatureNormalizingEstimator : IEstimator<FeatureNormalizingTransformer>
{
    private readonly string inputColumnName;
    private readonly string outputColumnName;

    internal FeatureNormalizingEstimator(string inputColumnName, string outputColumnName)
    {
        if (string.IsNullOrWhiteSpace(inputColumnName) || string.IsNullOrWhiteSpace(outputColumnName))
            throw new ArgumentException("Column names must not be empty.");
        this.inputColumnName = inputColumnName;
        this.outputColumnName = outputColumnName;
    }

    /// <summary>Computes the statistics over every row.</summary>
    public FeatureNormalizingTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        var stats = FeatureStatistics.Compute(input, inputColumnName);
        var mean = stats.Mean.Select(m => (float)m).ToArray();
        // A dimension that never varies keeps a divisor of 1 rather than dividing by (almost) zero.
        var std = stats.StandardDeviation.Select((s, d) => s > 1e-6 * Math.Max(1, Math.Abs(stats.Mean[d])) ? (float)s : 1f).ToArray();
        return new FeatureNormalizingTransformer(inputColumnName, outputColumnName, mean, std);
    }


    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.Require(inputSchema, inputColumnName, "a vector of Single of known size",
            c => c.Kind == SchemaShape.Column.VectorKind.Vector && c.ItemType == Microsoft.ML.Data.NumberDataViewType.Single);
        return SchemaShapes.Append(inputSchema, SchemaShapes.Vector(outputColumnName, knownSize: true));
    }
}
