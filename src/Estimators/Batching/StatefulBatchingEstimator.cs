using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms;

namespace MusicGen.Estimators;

/// <summary>
/// Arranges frames so that row b of batch k+1 continues row b of batch k, with the next frame of each stream as the
/// target (see <see cref="StatefulBatchingTransformer"/>). Input: File, FrameIndex and a fixed-size features vector.
/// Output: those plus Target, Batch, Stream and ResetState. Does not train. Order-dependent: its output refuses shuffling.
/// Created by <see cref="MusicGenCatalog.BatchStatefully(TransformsCatalog, BatchOrdering, int)"/>.
/// </summary>
public sealed class StatefulBatchingEstimator : IEstimator<StatefulBatchingTransformer>
{
    private readonly Options options;

    internal StatefulBatchingEstimator(Options options)
    {
        options.Validate();
        this.options = options;
    }

    /// <summary>Default values of <see cref="Options"/>.</summary>
    public static class Defaults
    {
        /// <summary>The 2017 ordering.</summary>
        public const BatchOrdering Ordering = BatchOrdering.Seed2017;
        /// <summary>Rows per batch (streams), as in 2017.</summary>
        public const int BatchSize = 32;
        /// <summary>Output column of targets.</summary>
        public const string TargetColumn = "Target";
        /// <summary>Output column of batch numbers.</summary>
        public const string BatchColumn = "Batch";
        /// <summary>Output column of stream numbers.</summary>
        public const string StreamColumn = "Stream";
        /// <summary>Output column marking state resets.</summary>
        public const string ResetStateColumn = "ResetState";
    }

    /// <summary>Options of <see cref="StatefulBatchingEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>How frames are assigned to streams. Default <see cref="BatchOrdering.Seed2017"/>.</summary>
        public BatchOrdering Ordering { get; set; } = Defaults.Ordering;
        /// <summary>Rows per batch, i.e. state streams. Default 32.</summary>
        public int BatchSize { get; set; } = Defaults.BatchSize;
        /// <summary>Input and output file column. Default "File".</summary>
        public string FileColumnName { get; set; } = FftVectorizingEstimator.Defaults.FileColumn;
        /// <summary>Input and output frame-number column. Default "FrameIndex".</summary>
        public string FrameIndexColumnName { get; set; } = FftVectorizingEstimator.Defaults.FrameIndexColumn;
        /// <summary>Input and output features column. Default "Features".</summary>
        public string FeaturesColumnName { get; set; } = FftVectorizingEstimator.Defaults.FeaturesColumn;
        /// <summary>Output target column. Default "Target".</summary>
        public string TargetColumnName { get; set; } = Defaults.TargetColumn;
        /// <summary>Output batch-number column. Default "Batch".</summary>
        public string BatchColumnName { get; set; } = Defaults.BatchColumn;
        /// <summary>Output stream-number column. Default "Stream".</summary>
        public string StreamColumnName { get; set; } = Defaults.StreamColumn;
        /// <summary>Output reset-marker column. Default "ResetState".</summary>
        public string ResetStateColumnName { get; set; } = Defaults.ResetStateColumn;

        internal void Validate()
        {
            var problems = new List<string>();
            if (BatchSize < 1) problems.Add($"BatchSize must be positive, not {BatchSize}.");
            if (!Enum.IsDefined(Ordering)) problems.Add($"Ordering {(int)Ordering} is not defined.");
            if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        }

        internal StatefulBatchingTransformer.ColumnNames Names() => new(FileColumnName, FrameIndexColumnName, FeaturesColumnName,
            TargetColumnName, BatchColumnName, StreamColumnName, ResetStateColumnName);
    }

    /// <summary>How the batches lay out each file's frames.</summary>
    internal BatchOrdering Ordering => options.Ordering;

    /// <summary>Rows per batch.</summary>
    internal int BatchSize => options.BatchSize;

    /// <summary>Checks the schema; nothing is learned.</summary>
    public StatefulBatchingTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        return new StatefulBatchingTransformer(options.Names(), options.Ordering, options.BatchSize);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        // A token column left behind is a wiring mistake: the network would learn the frames, not the tokens.
        foreach (var column in inputSchema)
        {
            if (column.Name != options.FeaturesColumnName && column.Annotations.TryFindColumn(Transforms.Tokens.TokenAnnotations.TokenCountKind, out _))
                throw new ArgumentException($"BatchStatefully: the input has the token column '{column.Name}' (from Tokenize) but batches '{options.FeaturesColumnName}'; " +
                    $"set FeaturesColumnName = \"{column.Name}\" in StatefulBatchingEstimator.Options (and in LstmForecastingEstimator.Options) to train on the tokens.");
        }
        SchemaShapes.RequireText(inputSchema, options.FileColumnName);
        SchemaShapes.RequireInt32(inputSchema, options.FrameIndexColumnName);
        SchemaShapes.Require(inputSchema, options.FeaturesColumnName, "a vector of Single of known size",
            c => c.Kind == SchemaShape.Column.VectorKind.Vector && c.ItemType == NumberDataViewType.Single);
        return new SchemaShape(
        [
            SchemaShapes.Scalar(options.FileColumnName, TextDataViewType.Instance),
            SchemaShapes.Scalar(options.FrameIndexColumnName, NumberDataViewType.Int32),
            SchemaShapes.Vector(options.FeaturesColumnName, knownSize: true),
            SchemaShapes.Vector(options.TargetColumnName, knownSize: true),
            SchemaShapes.Scalar(options.BatchColumnName, NumberDataViewType.Int32),
            SchemaShapes.Scalar(options.StreamColumnName, NumberDataViewType.Int32),
            SchemaShapes.Scalar(options.ResetStateColumnName, BooleanDataViewType.Instance),
        ]);
    }
}
