using Microsoft.Data.Analysis;
using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms.Audio;

namespace MusicGen;

/// <summary>
/// Know a collection before training on it: one DataFrame row per file with its format, levels and spectrum, and
/// per-dimension statistics of any stage's features. Files are read one at a time, so a collection never has to fit
/// in memory.
/// </summary>
public static class AudioDataset
{
    /// <summary>The per-file columns, in order.</summary>
    public static readonly IReadOnlyList<string> Columns =
    [
        "Path", "Container", "Encoding", "SampleRate", "Channels", "Seconds", "PeakDbfs", "RmsDbfs", "DcOffset",
        "ClippedShare", "SilentShare", "CentroidMeanHz", "CentroidSpreadHz", "Status",
    ];

    /// <summary>
    /// Reads every audio file under <paramref name="paths"/> (folders recursively) into one row each. Files that cannot
    /// be decoded get a row with their error in Status and empty figures; a warning from the reader (for example
    /// truncation) is in Status too. <paramref name="progress"/> hears of each file before it is read.
    /// </summary>
    /// <exception cref="FileNotFoundException">A named path does not exist.</exception>
    public static DataFrame Inspect(IEnumerable<string> paths, Action<int, int, string>? progress = null)
    {
        var files = AudioFile.Expand(paths);
        var path = new StringDataFrameColumn("Path");
        var container = new StringDataFrameColumn("Container");
        var encoding = new StringDataFrameColumn("Encoding");
        var rate = new Int32DataFrameColumn("SampleRate");
        var channels = new Int32DataFrameColumn("Channels");
        var doubles = Columns.Skip(5).Take(8).Select(name => new DoubleDataFrameColumn(name)).ToArray();
        var status = new StringDataFrameColumn("Status");
        for (int i = 0; i < files.Count; i++)
        {
            string file = files[i];
            progress?.Invoke(i, files.Count, file);
            path.Append(file);
            AudioContainer kind = AudioContainer.Unknown;
            try
            {
                kind = AudioFile.Detect(file);
                var clip = AudioFile.Read(file);
                var s = AudioStatistics.Measure(clip);
                container.Append(kind.ToString());
                encoding.Append(clip.Encoding);
                rate.Append(clip.SampleRate);
                channels.Append(clip.ChannelCount);
                double[] values = [clip.Seconds, s.PeakDbfs, s.RmsDbfs, s.DcOffset, s.ClippedShare, s.SilentShare, s.CentroidMeanHz, s.CentroidSpreadHz];
                for (int c = 0; c < doubles.Length; c++) doubles[c].Append(values[c]);
                status.Append(clip.Warning is null ? "ok" : "warning: " + clip.Warning);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                container.Append(kind.ToString());
                encoding.Append(null);
                rate.Append(null);
                channels.Append(null);
                foreach (var c in doubles) c.Append(null);
                status.Append("error: " + e.Message);
            }
        }
        return new DataFrame([path, container, encoding, rate, channels, .. doubles, status]);
    }

    /// <summary>
    /// Per-dimension statistics of a features column (Dimension, Mean, StdDev, Min, Max): the numbers normalisation
    /// uses, computed in one streaming pass.
    /// </summary>
    public static DataFrame FeatureSummary(IDataView view, string column = Estimators.FftVectorizingEstimator.Defaults.FeaturesColumn)
    {
        ArgumentNullException.ThrowIfNull(view);
        var col = view.Schema[column];
        int dim = ((VectorDataViewType)col.Type).Size;
        if (dim == 0) throw new ArgumentException($"Column '{column}' has no fixed size.", nameof(column));
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
        if (rows == 0) throw new InvalidOperationException("There are no rows to summarise.");
        var mean = sum.Select(s => s / rows).ToArray();
        var std = squares.Select((q, d) => Math.Sqrt(Math.Max(0, q / rows - mean[d] * mean[d]))).ToArray();
        return new DataFrame(
            new Int32DataFrameColumn("Dimension", Enumerable.Range(0, dim)),
            new DoubleDataFrameColumn("Mean", mean),
            new DoubleDataFrameColumn("StdDev", std),
            new DoubleDataFrameColumn("Min", min),
            new DoubleDataFrameColumn("Max", max));
    }

    /// <summary>Writes a DataFrame as CSV (to a temporary file, then renamed over <paramref name="path"/>).</summary>
    public static void SaveCsv(DataFrame frame, string path)
    {
        ArgumentNullException.ThrowIfNull(frame);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + $".{Environment.ProcessId}.partial";
        try
        {
            using (var stream = File.Create(tmp)) DataFrame.SaveCsv(frame, stream, cultureInfo: System.Globalization.CultureInfo.InvariantCulture);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
