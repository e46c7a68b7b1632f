using System.Globalization;
using System.Text;
using MusicGen.Estimators;
using MusicGen.Transforms.IO;

namespace MusicGen;

/// <summary>
/// A training run's epochs as a CSV log: frames, speed, training loss, and with validation the held-out loss beside
/// both baselines, whose columns are named for the model's kind (<c>repeat_previous_token,unigram</c> for a token
/// model, <c>repeat_previous_frame,mean_frame</c> for a frame model).
/// </summary>
public static class TrainingLog
{
    /// <summary>
    /// Writes <paramref name="csvPath"/> (to a temporary file, then renamed). Rows already there for epochs before this
    /// run's first are kept, so a resumed run extends its log.
    /// </summary>
    public static void Save(IReadOnlyList<TrainingProgress> epochs, string csvPath)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        int first = epochs.Count == 0 ? int.MaxValue : epochs.Min(e => e.Epoch);
        var rows = new List<string>();
        if (File.Exists(csvPath))
        {
            rows.AddRange(File.ReadLines(csvPath).Skip(1)
                .Where(l => l.Split(',') is { Length: 8 } f && int.TryParse(f[0], CultureInfo.InvariantCulture, out int e) && e < first));
        }
        foreach (var e in epochs)
        {
            var v = e.Validation;
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"{e.Epoch},{e.Frames},{e.FramesPerSecond:F1},{e.Loss:R},{v?.Frames},{v?.Loss:R},{v?.RepeatPrevious:R},{v?.Average:R}"));
        }
        var kind = epochs.Select(e => e.Validation?.Kind).FirstOrDefault(k => k is not null) ?? LossKind.MeanSquaredError;
        var (repeat, average) = ValidationReport.Names(kind);
        var csv = new StringBuilder($"epoch,frames,frames_per_second,loss,validation_frames,validation_loss,{Column(repeat)},{Column(average)}\n");
        foreach (var r in rows) csv.Append(r).Append('\n');
        AtomicFile.Write(csvPath, path => File.WriteAllText(path, csv.ToString()));
    }

    private static string Column(string name) => name.Replace(' ', '_');
}
