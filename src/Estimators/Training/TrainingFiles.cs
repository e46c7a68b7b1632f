namespace MusicGen.Estimators;

/// <summary>
/// The files a training run keeps beside its model, named after it: for <c>model.zip</c>, <c>model.ckpt</c> (the
/// last checkpoint), <c>model.best.ckpt</c> (the best epoch's), <c>model.log.csv</c> (one row per epoch),
/// <c>model.loss.png</c> (the loss curves) and <c>model.preview.wav</c> (the latest preview).
/// </summary>
public sealed record TrainingFiles(string Model, string Checkpoint, string BestCheckpoint, string Log, string LossPlot, string Preview)
{
    /// <summary>The companion files of <paramref name="modelPath"/>.</summary>
    public static TrainingFiles Beside(string modelPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        string checkpoint = Path.ChangeExtension(modelPath, ".ckpt");
        return new TrainingFiles(modelPath, checkpoint, Training.Checkpoint.BestPath(checkpoint), Path.ChangeExtension(modelPath, ".log.csv"),
            Path.ChangeExtension(modelPath, ".loss.png"), Path.ChangeExtension(modelPath, ".preview.wav"));
    }

    /// <summary>
    /// A fingerprint of training files: their full paths, sizes and last-write times, hashed. Resuming a checkpoint
    /// written with another fingerprint is refused.
    /// </summary>
    public static string Fingerprint(IEnumerable<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var text = string.Join("\n", files.Select(f =>
        {
            var info = new FileInfo(f);
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}");
        }));
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>
    /// Whether <see cref="Checkpoint"/> holds a run that did not finish: it exists, and the model is missing or older
    /// than it (a finished run writes the model after its last checkpoint).
    /// </summary>
    public bool HasInterruptedRun =>
        File.Exists(Checkpoint) && (!File.Exists(Model) || File.GetLastWriteTimeUtc(Model) < File.GetLastWriteTimeUtc(Checkpoint));

    /// <summary>Removes temporary files that killed writes left beside the model and its companions.</summary>
    /// <returns>The files removed.</returns>
    public IReadOnlyList<string> RemoveLeftovers()
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(Model))!;
        if (!Directory.Exists(folder)) return [];
        var removed = new List<string>();
        foreach (var target in new[] { Model, Checkpoint, BestCheckpoint, Log, LossPlot, Preview })
        {
            // AtomicFile writes NAME.PID.partialEXT; a leftover is one whose process is gone.
            foreach (var leftover in Directory.EnumerateFiles(folder, Path.GetFileName(target) + ".*.partial*"))
            {
                var pid = Path.GetFileName(leftover)[(Path.GetFileName(target).Length + 1)..].Split('.')[0];
                if (int.TryParse(pid, System.Globalization.CultureInfo.InvariantCulture, out int id) && id != Environment.ProcessId && !Alive(id))
                {
                    File.Delete(leftover);
                    removed.Add(leftover);
                }
            }
        }
        return removed;
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
