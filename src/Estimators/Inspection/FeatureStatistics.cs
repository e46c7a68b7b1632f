using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms.Data;

namespace MusicGen.Estimators;

/// <summary>Per-dimension statistics of a fixed-size float-vector column, in one streaming pass (sums in double precision).</summary>
internal sealed record FeatureStatistics(long Rows, double[] Mean, double[] StandardDeviation, double[] Min, double[] Max)
{
    public static FeatureStatistics Compute(IDataView view, string column)
    {
        var col = SchemaCheck.RequireFloatVector(view.Schema, column, knownSize: true);
        int dim = SchemaCheck.VectorSize(col);
        var sum = new double[dim];
        var squares = new double[dim];
        var min = Enumerable.Repeat(double.PositiveInfinity, dim).ToArray();
        var max = Enumerable.Repeat(double.NegativeInfinity, dim).ToArray();
        long rows = 0;
        using (var cursor = view.GetRowCursor([col]))
        {
            var get = cursor.GetGetter<VBuffer<float>>(col);
            VBuffer<float> v = default;
            var dense = new float[dim];
            while (cursor.MoveNext())
            {
                get(ref v);
                v.CopyTo(dense);
                for (int d = 0; d < dim; d++)
                {
                    sum[d] += dense[d];
                    squares[d] += (double)dense[d] * dense[d];
                    min[d] = Math.Min(min[d], dense[d]);
                    max[d] = Math.Max(max[d], dense[d]);
                }
                rows++;
            }
        }
        if (rows == 0) throw new InvalidOperationException($"There are no rows to compute statistics of column '{column}' from.");
        var mean = sum.Select(s => s / rows).ToArray();
        var std = squares.Select((q, d) => Math.Sqrt(Math.Max(0, q / rows - mean[d] * mean[d]))).ToArray();
        return new FeatureStatistics(rows, mean, std, min, max);
    }
}
