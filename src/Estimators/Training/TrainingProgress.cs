namespace MusicGen.Estimators;

/// <summary>One progress report from <see cref="LstmForecastingEstimator"/>'s training loop.</summary>
/// <param name="Epoch">Epoch being trained, from 1.</param>
/// <param name="Epochs">Epochs in all.</param>
/// <param name="Frames">Frames (steps of every stream) trained on so far in this epoch.</param>
/// <param name="FramesPerSecond">Training speed so far in this epoch.</param>
/// <param name="Loss">Mean loss so far in this epoch.</param>
/// <param name="EpochDone">True on the report that closes an epoch.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, long Frames, double FramesPerSecond, double Loss, bool EpochDone)
{
    /// <summary>
    /// On the report that closes an epoch, with validation on: the loss on held-out steps beside that of the two
    /// baselines on the same steps. A model that does not beat "repeat the previous frame (token)" has not learned dynamics.
    /// </summary>
    public ValidationReport? Validation { get; init; }

    /// <summary>Frames trained on in a whole epoch, when known in advance (the training data is held in memory); else null.</summary>
    public long? EpochFrames { get; init; }
}

/// <summary>What a model's loss is measured in, which decides its baselines' names.</summary>
public enum LossKind
{
    /// <summary>A frame model: mean squared error per value, in the features' space; baselines "repeat the previous frame" and "the mean frame".</summary>
    MeanSquaredError,

    /// <summary>A token model: cross-entropy in nats per token; baselines "repeat the previous token" and "the unigram frequencies".</summary>
    CrossEntropy,
}

/// <summary>Validation figures of one epoch, over held-out steps.</summary>
/// <param name="Frames">Held-out steps (frames or tokens).</param>
/// <param name="Loss">The network's teacher-forced loss.</param>
/// <param name="RepeatPrevious">Loss of repeating the previous frame, or for tokens of "the previous token with the training repeat rate, else the unigram frequencies".</param>
/// <param name="Average">Loss of the training data's average: the mean frame, or for tokens the unigram frequencies (add-one smoothed).</param>
/// <param name="Kind">What the figures measure.</param>
public sealed record ValidationReport(long Frames, double Loss, double RepeatPrevious, double Average, LossKind Kind)
{
    /// <summary>The name of <see cref="RepeatPrevious"/> for this kind of model.</summary>
    public string RepeatPreviousName => Names(Kind).Repeat;

    /// <summary>The name of <see cref="Average"/> for this kind of model: "mean frame" or "unigram".</summary>
    public string AverageName => Names(Kind).Average;

    /// <summary>The unit of the figures.</summary>
    public string Unit => Kind == LossKind.CrossEntropy ? "nats per token" : "mean squared error";

    /// <summary>The baselines' names for a kind of model (console, CSV columns with spaces as underscores, plots, evaluate).</summary>
    public static (string Repeat, string Average) Names(LossKind kind) =>
        kind == LossKind.CrossEntropy ? ("repeat previous token", "unigram") : ("repeat previous frame", "mean frame");
}
