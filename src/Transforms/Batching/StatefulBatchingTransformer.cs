using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MusicGen.Transforms.Data;
using MusicGen.Transforms.Batching;

namespace MusicGen.Transforms;

/// <summary>How <see cref="StatefulBatchingTransformer"/> assigns a file's frames to the rows of its batches.</summary>
public enum BatchOrdering
{
    /// <summary>
    /// The 2017 code: each batch holds B consecutive frames, so row b of batch k is frame k*B + b and each state
    /// stream steps B frames at a time (it never sees adjacent frames).
    /// </summary>
    Seed2017,

    /// <summary>Each file is cut into B contiguous streams: row b of batch k is frame b*S + k, with S = frames / B.</summary>
    ContiguousStreams,
}

/// <summary>
/// Arranges frames for a stateful recurrent network: row b of batch k+1 continues row b of batch k, and the target of
/// each row is the next frame of its stream. Frames are grouped by file (consecutive rows with the same file); each
/// file starts a new set of streams, marked by ResetState on its first batch. Frames that do not fill whole streams
/// at the end of a file are dropped, and files too short for two batches give no rows.
/// Output columns: File, FrameIndex, the features, Target (same size), Batch (Int32, counted across files),
/// Stream (Int32, 0..B-1) and ResetState (Boolean). Order-dependent: the output refuses shuffling.
/// Produced by <c>mlContext.Transforms.BatchStatefully</c>.
/// </summary>
public sealed class StatefulBatchingTransformer : MusicGenTransformerBase
{
    internal const string LoaderSignature = "MusicGenStatefulBatching";

    internal StatefulBatchingTransformer(ColumnNames names, BatchOrdering ordering, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (!Enum.IsDefined(ordering)) throw new ArgumentOutOfRangeException(nameof(ordering), ordering, "Unknown ordering.");
        Names = names;
        Ordering = ordering;
        BatchSize = batchSize;
    }

    /// <summary>Column names.</summary>
    public ColumnNames Names { get; }

    /// <summary>How frames are assigned to streams.</summary>
    public BatchOrdering Ordering { get; }

    /// <summary>Rows per batch (B): the number of state streams.</summary>
    public int BatchSize { get; }

    /// <summary>
    /// The frame index at row <paramref name="stream"/> of batch <paramref name="batch"/> of a file of
    /// <paramref name="frames"/> frames (the target of that row is at <paramref name="batch"/> + 1).
    /// </summary>
    public int FrameAt(int frames, int batch, int stream) => Ordering == BatchOrdering.Seed2017
        ? batch * BatchSize + stream
        : stream * (frames / BatchSize) + batch;

    /// <summary>Batches a file of <paramref name="frames"/> frames gives (0 when it is too short).</summary>
    public int BatchCount(int frames) => Math.Max(0, frames / BatchSize - 1);

    /// <inheritdoc/>
    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        int size = CheckInput(inputSchema);
        return ColumnDef<BatchRow>.Schema(Columns(size, inputSchema[Names.Features].Annotations));
    }

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        int size = CheckInput(input.Schema);
        return new RowsDataView<BatchRow>(Columns(size, input.Schema[Names.Features].Annotations), () => Rows(input, size));
    }

    private int CheckInput(DataViewSchema schema)
    {
        SchemaCheck.RequireText(schema, Names.File);
        SchemaCheck.RequireInt32(schema, Names.FrameIndex);
        return SchemaCheck.VectorSize(SchemaCheck.RequireFloatVector(schema, Names.Features, knownSize: true));
    }

    private IEnumerable<BatchRow> Rows(IDataView input, int size)
    {
        int batch = 0;
        foreach (var (file, frames) in FileFrames.Read(input, Names.File, Names.Features))
        {
            int count = frames.Length / size;
            int batches = BatchCount(count);
            for (int k = 0; k < batches; k++, batch++)
            {
                for (int b = 0; b < BatchSize; b++)
                {
                    int at = FrameAt(count, k, b), next = FrameAt(count, k + 1, b);
                    yield return new BatchRow(file, at, frames.AsMemory(at * size, size), frames.AsMemory(next * size, size), batch, b, k == 0);
                }
            }
        }
    }

    /// <summary>The output columns; the features and target carry the input features' annotations (a token column's, say).</summary>
    private ColumnDef<BatchRow>[] Columns(int size, DataViewSchema.Annotations annotations) =>
    [
        ColumnDef<BatchRow>.Text(Names.File, r => r.File),
        ColumnDef<BatchRow>.Int32(Names.FrameIndex, r => r.FrameIndex),
        ColumnDef<BatchRow>.Vector(Names.Features, size, r => r.Features).With(annotations),
        ColumnDef<BatchRow>.Vector(Names.Target, size, r => r.Target).With(annotations),
        ColumnDef<BatchRow>.Int32(Names.Batch, r => r.Batch),
        ColumnDef<BatchRow>.Int32(Names.Stream, r => r.Stream),
        ColumnDef<BatchRow>.Boolean(Names.ResetState, r => r.ResetState),
    ];

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    private static VersionInfo GetVersionInfo() => MakeVersion("MGBATCHS", LoaderSignature, typeof(StatefulBatchingTransformer));

    private protected override void SaveModel(BinaryWriter writer, ModelSaveContext ctx)
    {
        Names.Write(writer);
        writer.Write((int)Ordering);
        writer.Write(BatchSize);
    }

    private static StatefulBatchingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        CheckFormat(ctx, GetVersionInfo(), "stateful-batching");
        var r = ctx.Reader;
        return new StatefulBatchingTransformer(ColumnNames.Read(r), (BatchOrdering)r.ReadInt32(), r.ReadInt32());
    }

    private sealed record BatchRow(string File, int FrameIndex, ReadOnlyMemory<float> Features, ReadOnlyMemory<float> Target,
        int Batch, int Stream, bool ResetState);

    /// <summary>Column names of <see cref="StatefulBatchingTransformer"/>.</summary>
    /// <param name="File">Input and output: file path; a change of value starts a new file.</param>
    /// <param name="FrameIndex">Input and output: frame number within the file.</param>
    /// <param name="Features">Input and output: the frame's features.</param>
    /// <param name="Target">Output: the next frame of the same stream.</param>
    /// <param name="Batch">Output: batch number.</param>
    /// <param name="Stream">Output: row within the batch.</param>
    /// <param name="ResetState">Output: true on a file's first batch.</param>
    public sealed record ColumnNames(string File, string FrameIndex, string Features, string Target, string Batch, string Stream, string ResetState)
    {
        internal void Write(BinaryWriter w)
        {
            foreach (var s in new[] { File, FrameIndex, Features, Target, Batch, Stream, ResetState }) w.Write(s);
        }

        internal static ColumnNames Read(BinaryReader r) =>
            new(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString());
    }
}
