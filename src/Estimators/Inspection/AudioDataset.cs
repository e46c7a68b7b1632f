using Microsoft.Data.Analysis;
using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.IO;

namespace MusicGen;

/// <summary>
/// Know a collection before training on it: one DataFrame row per file with its format, levels and spectrum, and
/// per-dimension statistics of any stage's features. Each file is streamed in blocks (one file per core at a time), so
/// memory does not grow with a file's length or the collection's size.
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
    /// truncation) is in Status too. <paramref name="progress"/> hears of each file before it is read (from worker threads,
    /// one call at a time).
    /// </summary>
    /// <exception cref="FileNotFoundException">A named path does not exist.</exception>
    public static DataFrame Inspect(IEnumerable<string> paths, Action<int, int, string>? progress = null)
    {
        var files = AudioFile.Expand(paths);
        // Files are measured in parallel (decoders run as separate processes), at most one per core in memory at once.
        var rows = new FileRow[files.Count];
        int started = 0;
        var gate = new object();
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            lock (gate) progress?.Invoke(started++, files.Count, files[i]);
            rows[i] = Measure(files[i]);
        });
        var path = new StringDataFrameColumn("Path", files);
        var container = new StringDataFrameColumn("Container", rows.Select(r => r.Container));
        var encoding = new StringDataFrameColumn("Encoding", rows.Select(r => r.Encoding));
        var rate = new Int32DataFrameColumn("SampleRate", rows.Select(r => r.SampleRate));
        var channels = new Int32DataFrameColumn("Channels", rows.Select(r => r.Channels));
        var doubles = Columns.Skip(5).Take(8).Select((name, c) => new DoubleDataFrameColumn(name, rows.Select(r => r.Values?[c]))).ToArray();
        var status = new StringDataFrameColumn("Status", rows.Select(r => r.Status));
        return new DataFrame([path, container, encoding, rate, channels, .. doubles, status]);
    }

    private static FileRow Measure(string file)
    {
        AudioContainer kind = AudioContainer.Unknown;
        try
        {
            kind = AudioFile.Detect(file);
            // Streamed in blocks: memory stays the same however long the file is.
            var accumulator = new AudioStatistics.Accumulator();
            var info = AudioFile.ReadBlocks(file, (block, frames, rate) => accumulator.Add(block, frames, rate), () => accumulator = new AudioStatistics.Accumulator());
            var s = accumulator.Result();
            double[] values = [info.Seconds, s.PeakDbfs, s.RmsDbfs, s.DcOffset, s.ClippedShare, s.SilentShare, s.CentroidMeanHz, s.CentroidSpreadHz];
            // Compressed files: ask ffprobe for the codec (inspection only; decoding for training does not need it).
            string? encoding = info.Encoding == "decoded by ffmpeg" ? ExternalDecoder.Codec(file) ?? info.Encoding : info.Encoding;
            return new FileRow(kind.ToString(), encoding, info.SampleRate, info.Channels, values,
                info.Warning is null ? "ok" : "warning: " + info.Warning);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return new FileRow(kind.ToString(), null, null, null, null, "error: " + e.Message);
        }
    }

    private sealed record FileRow(string Container, string? Encoding, int? SampleRate, int? Channels, double[]? Values, string Status);

    /// <summary>
    /// Per-dimension statistics of a features column (Dimension, Mean, StdDev, Min, Max): the numbers normalisation
    /// uses, computed in one streaming pass.
    /// </summary>
    public static DataFrame FeatureSummary(IDataView view, string column = Estimators.FftVectorizingEstimator.Defaults.FeaturesColumn)
    {
        ArgumentNullException.ThrowIfNull(view);
        var stats = Estimators.FeatureStatistics.Compute(view, column);
        int dim = stats.Mean.Length;
        var (mean, std, min, max) = (stats.Mean, stats.StandardDeviation, stats.Min, stats.Max);
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
        AtomicFile.Write(path, tmp =>
        {
            using var stream = File.Create(tmp);
            DataFrame.SaveCsv(frame, stream, cultureInfo: System.Globalization.CultureInfo.InvariantCulture);
        });
    }

    /// <summary>Files shorter than this are flagged: too short to train on.</summary>
    public const double MinimumSeconds = 1.0;

    /// <summary>What a person should know before training on the files of an <see cref="Inspect"/> table.</summary>
    /// <remarks>One line each: undecodable files (which training skips), reader warnings (truncation), clipping above
    /// 0.1% of samples, files over half silent, files shorter than <see cref="MinimumSeconds"/>, a DC offset above 0.01,
    /// and mixed sample rates.</remarks>
    public static IReadOnlyList<string> Warnings(DataFrame table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var warnings = new List<string>();
        var rates = new SortedSet<int>();
        for (long i = 0; i < table.Rows.Count; i++)
        {
            string name = Path.GetFileName((string)table["Path"][i]);
            string status = (string)table["Status"][i];
            if (status.StartsWith("error", StringComparison.Ordinal))
            {
                warnings.Add($"undecodable, will be skipped: {status["error: ".Length..]}");
                continue;
            }
            if (status.StartsWith("warning", StringComparison.Ordinal)) warnings.Add(status["warning: ".Length..]);
            rates.Add((int)table["SampleRate"][i]);
            if ((double)table["ClippedShare"][i] > 0.001) warnings.Add($"clipping: {name} has {100 * (double)table["ClippedShare"][i]:F2}% of samples at full scale");
            if ((double)table["SilentShare"][i] > 0.5) warnings.Add($"silence: {name} is {100 * (double)table["SilentShare"][i]:F0}% silent");
            if ((double)table["Seconds"][i] < MinimumSeconds) warnings.Add($"too short to train on: {name} is {(double)table["Seconds"][i]:F2} s");
            if (Math.Abs((double)table["DcOffset"][i]) > 0.01) warnings.Add($"DC offset: {name} has a mean of {(double)table["DcOffset"][i]:F3}");
        }
        if (rates.Count > 1)
            warnings.Add($"mixed sample rates ({string.Join(", ", rates)} Hz): training resamples everything to the first file's rate");
        return warnings;
    }
}
