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
}
