using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms.Data;

namespace MusicGen.Transforms.Batching;

/// <summary>Reads a frame view file by file: consecutive rows with the same file value form one file.</summary>
internal static class FileFrames
{
    /// <summary>
    /// Each file's frames in one array, [frames, size] row-major (no array per frame); with <paramref name="maxFrames"/>,
    /// a longer file comes as consecutive pieces of at most that many frames (same file name).
    /// </summary>
    public static IEnumerable<(string File, float[] Frames)> Read(IDataView input, string fileColumn, string featuresColumn, int maxFrames = int.MaxValue)
    {
        var fileCol = input.Schema[fileColumn];
        var featCol = input.Schema[featuresColumn];
        int size = SchemaCheck.VectorSize(SchemaCheck.RequireFloatVector(input.Schema, featuresColumn, knownSize: true));
        using var cursor = input.GetRowCursor([fileCol, featCol]);
        var getFile = cursor.GetGetter<ReadOnlyMemory<char>>(fileCol);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(featCol);
        ReadOnlyMemory<char> file = default;
        VBuffer<float> features = default;
        string? current = null;
        var frames = new float[size * 1024];
        int count = 0;
        while (cursor.MoveNext())
        {
            getFile(ref file);
            if (current is null || !file.Span.SequenceEqual(current))
            {
                if (current is not null) yield return (current, frames.AsSpan(0, count * size).ToArray());
                current = file.ToString();
                count = 0;
            }
            if (count == maxFrames)
            {
                yield return (current, frames.AsSpan(0, count * size).ToArray());
                count = 0;
            }
            getFeatures(ref features);
            if ((long)(count + 1) * size > frames.Length) Array.Resize(ref frames, (int)Math.Min(Array.MaxLength, 2L * frames.Length));
            features.CopyTo(frames.AsSpan(count * size, size));
            count++;
        }
        if (current is not null) yield return (current, frames.AsSpan(0, count * size).ToArray());
    }

    /// <summary>The files a view lists, in order: the value of <paramref name="fileColumn"/> wherever it changes (reads only that column).</summary>
    public static List<string> Names(IDataView input, string fileColumn) => Counts(input, fileColumn).Select(f => f.File).ToList();

    /// <summary>The files a view lists, in order, each with its number of rows (reads only <paramref name="fileColumn"/>).</summary>
    public static List<(string File, int Rows)> Counts(IDataView input, string fileColumn)
    {
        var column = input.Schema[fileColumn];
        using var cursor = input.GetRowCursor([column]);
        var get = cursor.GetGetter<ReadOnlyMemory<char>>(column);
        ReadOnlyMemory<char> file = default;
        var counts = new List<(string File, int Rows)>();
        while (cursor.MoveNext())
        {
            get(ref file);
            if (counts.Count == 0 || !file.Span.SequenceEqual(counts[^1].File)) counts.Add((file.ToString(), 0));
            counts[^1] = (counts[^1].File, counts[^1].Rows + 1);
        }
        return counts;
    }
}
