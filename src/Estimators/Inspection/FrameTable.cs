using Microsoft.Data.Analysis;
using Microsoft.ML;
using MusicGen.Transforms.Data;

namespace MusicGen;

/// <summary>
/// Microsoft.Data.Analysis <see cref="DataFrame"/>s from any stage's output (file, frame index, time, features ...)
/// for inspection, and back into a pipeline with the feature vector's fixed size restored.
/// </summary>
public static class FrameTable
{
    /// <summary>
    /// Reads a view into a DataFrame: every row unless <paramref name="maxRows"/> is given (ML.NET's own
    /// <c>ToDataFrame</c> stops at 100 by default). Vector columns become <c>VBufferDataFrameColumn&lt;float&gt;</c>.
    /// </summary>
    public static DataFrame ToDataFrame(IDataView view, long maxRows = -1)
    {
        ArgumentNullException.ThrowIfNull(view);
        return view.ToDataFrame(maxRows);
    }

    /// <summary>
    /// A DataFrame as a view again, with the float-vector column <paramref name="vectorColumn"/> declared to be
    /// <paramref name="size"/> values long (a plain DataFrame view says "variable length", which normalizers, batching
    /// and trainers refuse). Rows of another length fail with an error naming the row.
    /// </summary>
    public static IDataView ToDataView(DataFrame frame, int size, string vectorColumn = Estimators.FftVectorizingEstimator.Defaults.FeaturesColumn)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        return new FixedSizeVectorView(frame, vectorColumn, size);
    }
}
