using System.Globalization;
using System.Text;
using MusicGen.Estimators;
using MusicGen.Transforms.IO;

namespace MusicGen;

/// <summary>A training run's epochs as a CSV log and a loss-curve PNG (training, validation and both baselines).</summary>
public static class TrainingLog
{
    private const string Header = "epoch,frames,frames_per_second,loss,validation_frames,validation_loss,repeat_previous,mean_frame";

    /// <summary>
    /// Writes both files (each to a temporary file, then renamed). Rows already in <paramref name="csvPath"/> for epochs
    /// before this run's first are kept, so a resumed run extends its log.
    /// </summary>
    public static void Save(IReadOnlyList<TrainingProgress> epochs, string csvPath, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        int first = epochs.Count == 0 ? int.MaxValue : epochs.Min(e => e.Epoch);
        var rows = new List<string[]>();
        if (File.Exists(csvPath))
        {
            rows.AddRange(File.ReadLines(csvPath).Skip(1).Select(l => l.Split(','))
                .Where(f => f.Length == 8 && int.TryParse(f[0], CultureInfo.InvariantCulture, out int e) && e < first));
        }
        foreach (var e in epochs)
        {
            var v = e.Validation;
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"{e.Epoch},{e.Frames},{e.FramesPerSecond:F1},{e.Loss:R},{v?.Frames},{v?.Loss:R},{v?.RepeatPrevious:R},{v?.MeanFrame:R}").Split(','));
        }
        var csv = new StringBuilder(Header + "\n");
        foreach (var r in rows) csv.Append(string.Join(',', r)).Append('\n');
        AtomicFile.Write(csvPath, path => File.WriteAllText(path, csv.ToString()));

        var plot = new ScottPlot.Plot();
        void Line(string label, int column)
        {
            var points = rows.Where(r => double.TryParse(r[column], CultureInfo.InvariantCulture, out _)).ToList();
            if (points.Count == 0) return;
            var line = plot.Add.Scatter(points.Select(r => double.Parse(r[0], CultureInfo.InvariantCulture)).ToArray(),
                points.Select(r => double.Parse(r[column], CultureInfo.InvariantCulture)).ToArray());
            line.LegendText = label;
        }
        Line("training", 3);
        Line("validation", 5);
        Line("repeat previous frame", 6);
        Line("mean frame", 7);
        plot.XLabel("epoch");
        plot.YLabel("mean squared error");
        plot.ShowLegend();
        AtomicFile.Write(pngPath, path => plot.SavePng(path, 900, 500));
    }
}
