using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms;

namespace MusicGen.Tests;

public class StatefulBatchingTests
{
    /// <summary>A frame row for hand-made frame views (also used by ValidationTests).</summary>
    internal sealed class Frame
    {
        public string File { get; set; } = "";
        public int FrameIndex { get; set; }
        [VectorType(2)] public float[] Features { get; set; } = [];
    }

    private sealed record Row(string File, int FrameIndex, float[] Features, float[] Target, int Batch, int Stream, bool Reset);

    /// <summary>Two files of the given lengths; each frame's features are [frame index, file number].</summary>
    private static IDataView Frames(MLContext ml, params int[] lengths) => ml.Data.LoadFromEnumerable(
        lengths.SelectMany((n, file) => Enumerable.Range(0, n).Select(i => new Frame { File = $"f{file}", FrameIndex = i, Features = [i, file] })));

    private static List<Row> Batch(BatchOrdering ordering, int batchSize, params int[] lengths)
    {
        var ml = new MLContext(seed: 1);
        var data = Frames(ml, lengths);
        var output = ml.Transforms.BatchStatefully(ordering, batchSize).Fit(data).Transform(data);
        return ml.Data.CreateEnumerable<OutRow>(output, reuseRowObject: false)
            .Select(r => new Row(r.File, r.FrameIndex, r.Features, r.Target, r.Batch, r.Stream, r.ResetState)).ToList();
    }

    private sealed class OutRow
    {
        public string File { get; set; } = "";
        public int FrameIndex { get; set; }
        public float[] Features { get; set; } = [];
        public float[] Target { get; set; } = [];
        public int Batch { get; set; }
        public int Stream { get; set; }
        public bool ResetState { get; set; }
    }

    [Fact]
    public void Seed2017_puts_consecutive_frames_in_a_batch_and_targets_a_batch_ahead()
    {
        var rows = Batch(BatchOrdering.Seed2017, 4, 17);
        Assert.Equal(3 * 4, rows.Count); // 17 / 4 - 1 batches
        for (int i = 0; i < rows.Count; i++)
        {
            int k = i / 4, b = i % 4;
            Assert.Equal(4 * k + b, rows[i].FrameIndex);
            Assert.Equal(4 * k + b, rows[i].Features[0]);
            Assert.Equal(4 * (k + 1) + b, rows[i].Target[0]);
        }
    }

    [Fact]
    public void Contiguous_streams_step_one_frame_at_a_time()
    {
        var rows = Batch(BatchOrdering.ContiguousStreams, 3, 14);
        Assert.Equal(3 * 3, rows.Count); // S = 4 frames per stream, 3 batches
        for (int i = 0; i < rows.Count; i++)
        {
            int k = i / 3, b = i % 3;
            Assert.Equal(4 * b + k, rows[i].FrameIndex);
            Assert.Equal(4 * b + k + 1, rows[i].Target[0]);
        }
    }

    [Theory]
    [InlineData(BatchOrdering.Seed2017, 4)]
    [InlineData(BatchOrdering.ContiguousStreams, 4)]
    [InlineData(BatchOrdering.ContiguousStreams, 1)]
    public void Row_b_of_batch_k_plus_1_continues_row_b_of_batch_k_within_each_file(BatchOrdering ordering, int batchSize)
    {
        var rows = Batch(ordering, batchSize, 41, 3, 29);
        if (batchSize > 1) Assert.DoesNotContain(rows, r => r.File == "f1"); // 3 frames: too short for two batches
        foreach (var file in rows.GroupBy(r => r.File))
        {
            var batches = file.GroupBy(r => r.Batch).OrderBy(g => g.Key).Select(g => g.OrderBy(r => r.Stream).ToArray()).ToArray();
            for (int k = 0; k < batches.Length; k++)
            {
                Assert.Equal(Enumerable.Range(0, batchSize), batches[k].Select(r => r.Stream));
                Assert.All(batches[k], r => Assert.Equal(k == 0, r.Reset));
                Assert.All(batches[k], r => Assert.Equal(int.Parse(r.File[1..], System.Globalization.CultureInfo.InvariantCulture), r.Features[1]));
                Assert.All(batches[k], r => Assert.Equal(r.Features[1], r.Target[1])); // never crosses files
                if (k + 1 < batches.Length)
                    for (int b = 0; b < batchSize; b++) Assert.Equal(batches[k][b].Target[0], batches[k + 1][b].Features[0]);
            }
        }
        Assert.Equal(rows.Select(r => r.Batch).Distinct().Order(), rows.Select(r => r.Batch).Distinct()); // in batch order
    }

    [Fact]
    public void Output_refuses_shuffling_and_parallel_cursors()
    {
        var ml = new MLContext(seed: 1);
        var data = Frames(ml, 20);
        var output = ml.Transforms.BatchStatefully().Fit(data).Transform(data);
        Assert.False(output.CanShuffle);
        Assert.Single(output.GetRowCursorSet(output.Schema, 4, new Random(1)));
    }
}
