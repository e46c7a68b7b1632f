using System.Globalization;
using MusicGen.Transforms.IO;

namespace MusicGen.Host;

/// <summary>The loss curves of a training log (<see cref="TrainingLog"/>'s CSV) as a PNG: training, validation and both baselines.</summary>
internal static class LossPlot
{
    public static void Save(string csvPath, string pngPath)
    {
        var lines = File.ReadAllLines(csvPath);
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Select(l => l.Split(',')).Where(r => r.Length == header.Length).ToList();
        var plot = new ScottPlot.Plot();
        void Line(int column, string? label = null)
        {
            var points = rows.Where(r => double.TryParse(r[column], CultureInfo.InvariantCulture, out _)).ToList();
            if (points.Count == 0) return;
            var line = plot.Add.Scatter(points.Select(r => double.Parse(r[0], CultureInfo.InvariantCulture)).ToArray(),
                points.Select(r => double.Parse(r[column], CultureInfo.InvariantCulture)).ToArray());
            line.LegendText = label ?? header[column].Replace('_', ' ');
        }
        Line(3, "training");
        Line(5, "validation");
        Line(6);
        Line(7);
        plot.XLabel("epoch");
        plot.YLabel(header[7] == "unigram" ? "cross-entropy (nats per token)" : "mean squared error");
        plot.ShowLegend();
        AtomicFile.Write(pngPath, path => plot.SavePng(path, 900, 500));
    }
}
