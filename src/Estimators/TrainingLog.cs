using System.Globalization;
using System.Text;
using MusicGen.Estimators;

namespace MusicGen;

/// <summary>A training run's epochs as a CSV log and a loss-curve PNG (training, validation and both baselines).</summary>
public static class TrainingLog
{
    /// <summary>Writes both files (each to a temporary file, then renamed).</summary>
    public static void Save(IReadOnlyList<TrainingProgress> epochs, string csvPath, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        var csv = new StringBuilder("epoch,frames,frames_per_second,loss,validation_frames,validation_loss,repeat_previous,mean_frame\n");
        foreach (var e in epochs)
        {
            var v = e.Validation;
            csv.Append(CultureInfo.InvariantCulture, $"{e.Epoch},{e.Frames},{e.FramesPerSecond:F1},{e.Loss:R},{v?.Frames},{v?.Loss:R},{v?.RepeatPrevious:R},{v?.MeanFrame:R}\n");
        }
        Transforms.Audio.AtomicFile.Write(csvPath, path => File.WriteAllText(path, csv.ToString()));

        var plot = new ScottPlot.Plot();
        double[] x = epochs.Select(e => (double)e.Epoch).ToArray();
        void Line(string label, Func<TrainingProgress, double?> value)
        {
            var points = epochs.Where(e => value(e) is not null).ToList();
            if (points.Count == 0) return;
            var line = plot.Add.Scatter(points.Select(e => (double)e.Epoch).ToArray(), points.Select(e => value(e)!.Value).ToArray());
            line.LegendText = label;
        }
        Line("training", e => e.Loss);
        Line("validation", e => e.Validation?.Loss);
        Line("repeat previous frame", e => e.Validation?.RepeatPrevious);
        Line("mean frame", e => e.Validation?.MeanFrame);
        plot.XLabel("epoch");
        plot.YLabel("mean squared error");
        plot.ShowLegend();
        Transforms.Audio.AtomicFile.Write(pngPath, path => plot.SavePng(path, 900, 500));
    }
}
