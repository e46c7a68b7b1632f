using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms.Data;

namespace MusicGen.Transforms.Batching;

/// <summary>
/// A run of rows that a recurrent network processes from a fresh state: Steps x Streams frames in time-major order
/// ([K, B, D] flattened), with targets when the view has them.
/// </summary>
internal sealed record SequenceSegment(string File, int Steps, int Streams, float[] Inputs, float[]? Targets);

/// <summary>
/// Cuts a frame view into <see cref="SequenceSegment"/>s. With stream columns (the output of stateful batching) a
/// segment starts at each row with ResetState set on stream 0, and rows are batch-major; without them each file is
/// one segment with one stream.
/// </summary>
internal static class SequenceSegments
{
    public static IEnumerable<SequenceSegment> Read(IDataView input, string fileColumn, string featuresColumn,
        string? targetColumn, string? streamColumn, string? resetColumn)
    {
        var schema = input.Schema;
        int dim = SchemaCheck.VectorSize(SchemaCheck.RequireFloatVector(schema, featuresColumn, knownSize: true));
        var fileCol = SchemaCheck.RequireText(schema, fileColumn);
        var featCol = schema[featuresColumn];
        var targetCol = targetColumn is null ? (DataViewSchema.Column?)null : schema[targetColumn];
        bool batched = streamColumn is not null && resetColumn is not null;
        var streamCol = batched ? SchemaCheck.RequireInt32(schema, streamColumn!) : (DataViewSchema.Column?)null;
        var resetCol = batched ? SchemaCheck.Require(schema, resetColumn!, "Boolean", t => t is BooleanDataViewType) : (DataViewSchema.Column?)null;

        var needed = new List<DataViewSchema.Column> { fileCol, featCol };
        if (targetCol is { } tc) needed.Add(tc);
        if (streamCol is { } sc) needed.Add(sc);
        if (resetCol is { } rc) needed.Add(rc);
        using var cursor = input.GetRowCursor(needed);
        var getFile = cursor.GetGetter<ReadOnlyMemory<char>>(fileCol);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(featCol);
        var getTarget = targetCol is { } t1 ? cursor.GetGetter<VBuffer<float>>(t1) : null;
        var getStream = streamCol is { } s1 ? cursor.GetGetter<int>(s1) : null;
        var getReset = resetCol is { } r1 ? cursor.GetGetter<bool>(r1) : null;

        ReadOnlyMemory<char> file = default;
        VBuffer<float> features = default, target = default;
        int stream = 0;
        bool reset = false;
        string? current = null;
        int streams = 1, rows = 0;
        var inputs = new List<float[]>();
        var targets = getTarget is null ? null : new List<float[]>();

        static float[] Flatten(List<float[]> rows, int dim)
        {
            var flat = new float[(long)rows.Count * dim];
            for (int i = 0; i < rows.Count; i++) rows[i].CopyTo(flat, (long)i * dim);
            return flat;
        }

        SequenceSegment Finish()
        {
            if (rows % streams != 0)
                throw new InvalidDataException($"{current}: {rows} rows do not fill whole batches of {streams} streams");
            return new SequenceSegment(current!, rows / streams, streams, Flatten(inputs, dim), targets is null ? null : Flatten(targets, dim));
        }

        while (cursor.MoveNext())
        {
            getFile(ref file);
            getStream?.Invoke(ref stream);
            getReset?.Invoke(ref reset);
            bool starts = current is null || (batched ? reset && stream == 0 : !file.Span.SequenceEqual(current));
            if (starts)
            {
                if (current is not null && rows > 0) yield return Finish();
                current = file.ToString();
                streams = 1;
                rows = 0;
                inputs = new List<float[]>();
                targets = getTarget is null ? null : new List<float[]>();
            }
            if (batched) streams = Math.Max(streams, stream + 1);
            getFeatures(ref features);
            if (features.Length != dim) throw new InvalidDataException($"{current}: a frame has {features.Length} values, expected {dim}");
            inputs.Add(Vectors.Dense(features));
            if (getTarget is not null)
            {
                getTarget(ref target);
                targets!.Add(Vectors.Dense(target));
            }
            rows++;
        }
        if (current is not null && rows > 0) yield return Finish();
    }
}
