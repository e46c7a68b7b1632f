using Microsoft.ML;
using MusicGen.Transforms;
using MusicGen.Transforms.Data;

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
        var column = SchemaCheck.RequireFloatVector(input.Schema, inputColumnName, knownSize: true);
        int dim = SchemaCheck.VectorSize(column);
        var sum = new double[dim];
        var sumSquares = new double[dim];
        long rows = 0;
        using (var cursor = input.GetRowCursor([column]))
        {
            var get = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(column);
            Microsoft.ML.Data.VBuffer<float> v = default;
            var dense = new float[dim];
            while (cursor.MoveNext())
            {
                get(ref v);
                v.CopyTo(dense);
                for (int d = 0; d < dim; d++)
                {
                    sum[d] += dense[d];
                    sumSquares[d] += (double)dense[d] * dense[d];
                }
                rows++;
            }
        }
        if (rows == 0) throw new InvalidOperationException("There is no data to fit on: no frames to compute feature statistics from.");
        var mean = new float[dim];
        var std = new float[dim];
        for (int d = 0; d < dim; d++)
        {
            double m = sum[d] / rows;
            double variance = Math.Max(0, sumSquares[d] / rows - m * m);
            mean[d] = (float)m;
            double s = Math.Sqrt(variance);
            std[d] = s > 1e-6 * Math.Max(1, Math.Abs(m)) ? (float)s : 1f;
        }
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
