using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Data;
using TorchSharp;
using static TorchSharp.torch;
using MusicGen.Estimators.Training;
using MusicGen.Transforms.IO;
using MusicGen.Transforms.Batching;
using MusicGen.Transforms.Network;
using MusicGen.Transforms.Tokens;
using MusicGen.Transforms.Torch;

namespace MusicGen.Estimators;

/// <summary>One progress report from <see cref="LstmForecastingEstimator"/>'s training loop.</summary>
/// <param name="Epoch">Epoch being trained, from 1.</param>
/// <param name="Epochs">Epochs in all.</param>
/// <param name="Frames">Frames trained on so far in this epoch.</param>
/// <param name="FramesPerSecond">Training speed so far in this epoch.</param>
/// <param name="Loss">Mean loss so far in this epoch.</param>
/// <param name="EpochDone">True on the report that closes an epoch.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, long Frames, double FramesPerSecond, double Loss, bool EpochDone)
{
    /// <summary>
    /// On the report that closes an epoch, with validation on: the loss on held-out frames and, on the same frames, that
    /// of repeating the previous frame and of predicting the training frames' mean. A model that does not beat
    /// "repeat the previous frame" has not learned dynamics.
    /// </summary>
    public ValidationReport? Validation { get; init; }
}

/// <summary>Validation figures of one epoch (mean squared error over held-out frames, in the features' space).</summary>
/// <param name="Frames">Held-out frames.</param>
/// <param name="Loss">The network's teacher-forced loss.</param>
/// <param name="RepeatPrevious">Loss of predicting each frame as the one before it.</param>
/// <param name="MeanFrame">Loss of predicting the training frames' mean frame.</param>
public sealed record ValidationReport(long Frames, double Loss, double RepeatPrevious, double MeanFrame)
{
    /// <summary>
    /// True for a token model: the figures are cross-entropies (nats per token), RepeatPrevious is "repeat the previous
    /// token" (the training repeat rate on the same token, unigram frequencies otherwise) and MeanFrame holds the
    /// unigram baseline.
    /// </summary>
    public bool CrossEntropy { get; init; }
}

/// <summary>
/// Trains a stacked LSTM (TorchSharp) to predict each row's target frame from its features, with the recurrent state
/// carried from batch to batch along each stream (detached: truncated backpropagation through time over
/// <see cref="Options.SequenceLength"/> batches per step) and reset where ResetState is set. MSE loss, Adam, a fixed
/// random seed. Input: File, the features and the target (fixed-size vectors of Single), and the Stream and ResetState
/// columns of stateful batching. Output: the input's columns plus the predicted next frame. Trains.
/// Created by <see cref="MusicGenCatalog.PredictNextFrame(TransformsCatalog, int, int, int)"/>.
/// </summary>
public sealed class LstmForecastingEstimator : IEstimator<LstmForecastingTransformer>
{
    private readonly Options options;

    internal LstmForecastingEstimator(Options options)
    {
        options.Validate();
        this.options = options;
    }

    /// <summary>Default values of <see cref="Options"/>: the 2017 model.</summary>
    public static class Defaults
    {
        /// <summary>Epochs, as in 2017.</summary>
        public const int Epochs = 10;
        /// <summary>LSTM layers.</summary>
        public const int Layers = 3;
        /// <summary>Units per LSTM layer.</summary>
        public const int HiddenSize = 256;
        /// <summary>Adam's learning rate (Keras' default, which 2017 used).</summary>
        public const float LearningRate = 1e-3f;
        /// <summary>Batches per optimizer step: 1, as the 2017 stateful Keras model did.</summary>
        public const int SequenceLength = 1;
        /// <summary>Random seed.</summary>
        public const int Seed = 1;
        /// <summary>Output column of predictions.</summary>
        public const string OutputColumn = "PredictedFeatures";

        /// <summary>Dropout after each of the three 2017 layers.</summary>
        public static IReadOnlyList<float> Dropouts => [0.5f, 0.3f, 0.2f];
    }

    /// <summary>Options of <see cref="LstmForecastingEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>Passes over the data. Default 10.</summary>
        public int Epochs { get; set; } = Defaults.Epochs;
        /// <summary>Units of each LSTM layer, bottom first. Default 3 x 256.</summary>
        public int[] HiddenSizes { get; set; } = Enumerable.Repeat(Defaults.HiddenSize, Defaults.Layers).ToArray();
        /// <summary>Dropout after each LSTM layer. Default 0.5, 0.3, 0.2.</summary>
        public float[] Dropouts { get; set; } = Defaults.Dropouts.ToArray();
        /// <summary>Adam's learning rate. Default 0.001.</summary>
        public float LearningRate { get; set; } = Defaults.LearningRate;
        /// <summary>Learning-rate schedule: the rate is multiplied by this after every epoch. Default 1 (constant).</summary>
        public float LearningRateDecay { get; set; } = 1f;
        /// <summary>Batches per optimizer step (truncated backpropagation through time). Default 1.</summary>
        public int SequenceLength { get; set; } = Defaults.SequenceLength;
        /// <summary>Clip the gradient norm to this; 0 (default) does not clip.</summary>
        public float GradientClipNorm { get; set; }
        /// <summary>
        /// Tokens the input holds (0, the default: the input holds feature frames and the network regresses the next
        /// frame with MSE). Above 0 the input holds one token number per row (<see cref="TokenizingEstimator"/>), the
        /// network embeds it and predicts the next token's distribution (softmax, cross-entropy).
        /// </summary>
        public int Vocabulary { get; set; }
        /// <summary>
        /// A token model's token descriptors ([vocabulary, size] row-major, e.g. codebook centroids), asked for when
        /// fitting starts; null (default) learns a free embedding per token.
        /// </summary>
        public Func<float[]>? TokenDescriptors { get; set; }
        /// <summary>
        /// A token model's training token counts and repeat rate (e.g. the codebook's), asked for after training: with
        /// validation on, the network's distribution is then interpolated with "repeat the previous token, else the
        /// training frequencies", weighted as fits the held-out steps best (see <see cref="FrameLstm.SetBackoff"/>).
        /// Null (default): no backoff.
        /// </summary>
        public Func<(IReadOnlyList<long> Counts, double RepeatRate)>? TokenStatistics { get; set; }
        /// <summary>Embedding size of a token model. Default 128.</summary>
        public int EmbeddingSize { get; set; } = 128;
        /// <summary>
        /// Share of a token model's input tokens replaced by random tokens while training (the targets stay), so that
        /// the network learns to recover from unlikely inputs such as its own sampled mistakes. Default 0.
        /// </summary>
        public float TokenNoise { get; set; }
        /// <summary>Seed of torch's random generator (weights, dropout). Default 1.</summary>
        public int Seed { get; set; } = Defaults.Seed;
        /// <summary>
        /// Share of the audio held out for validation (0, the default, turns validation off): whole files, spread over
        /// the list, when there are 3 or more and the training data fits in memory (token models always do); else that
        /// share of each file from its end, where the state runs into the held-out part from the trained part.
        /// Held-out frames are never trained on.
        /// </summary>
        public double ValidationFraction { get; set; }
        /// <summary>
        /// Where to write a checkpoint at the end of every epoch (network, optimizer state, epoch and random state,
        /// written atomically); null (default) writes none.
        /// </summary>
        public string? CheckpointPath { get; set; }
        /// <summary>
        /// Stop when the validation loss has not improved for this many epochs (0, the default, never stops early).
        /// Needs <see cref="ValidationFraction"/> above 0.
        /// </summary>
        public int EarlyStoppingPatience { get; set; }
        /// <summary>
        /// Also write a checkpoint at the end of the first file (segment) that ends this long after the last one, so
        /// that a long epoch loses little when interrupted; zero writes them at epoch ends only. Default 10 minutes.
        /// A cancellation is honoured at the end of the current file, after writing a checkpoint there.
        /// </summary>
        public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(10);
        /// <summary>Continue from <see cref="CheckpointPath"/> when it exists (same data and options give the same weights as an uninterrupted run).</summary>
        public bool Resume { get; set; }
        /// <summary>
        /// Where to train: "cpu" (default) or "cuda" (the first GPU; needs a CUDA build of TorchSharp in place of the
        /// CPU one this project ships, and refuses clearly otherwise). The trained network comes back on the CPU.
        /// </summary>
        public string Device { get; set; } = "cpu";
        /// <summary>Torch threads; 0 (default) leaves torch's choice (one per core).</summary>
        public int Threads { get; set; }
        /// <summary>Input file column. Default "File".</summary>
        public string FileColumnName { get; set; } = FftVectorizingEstimator.Defaults.FileColumn;
        /// <summary>Input features column. Default "Features".</summary>
        public string FeaturesColumnName { get; set; } = FftVectorizingEstimator.Defaults.FeaturesColumn;
        /// <summary>Input target column. Default "Target".</summary>
        public string TargetColumnName { get; set; } = StatefulBatchingEstimator.Defaults.TargetColumn;
        /// <summary>Input stream column. Default "Stream".</summary>
        public string StreamColumnName { get; set; } = StatefulBatchingEstimator.Defaults.StreamColumn;
        /// <summary>Input reset column. Default "ResetState".</summary>
        public string ResetStateColumnName { get; set; } = StatefulBatchingEstimator.Defaults.ResetStateColumn;
        /// <summary>Output prediction column. Default "PredictedFeatures".</summary>
        public string OutputColumnName { get; set; } = Defaults.OutputColumn;
        /// <summary>Called with progress during training (not saved with the model).</summary>
        public Action<TrainingProgress>? Progress { get; set; }
        /// <summary>
        /// Called after every epoch (and its checkpoint) with the network as it stands, wrapped in a transformer, and
        /// the epoch: for previews. The network is in evaluation mode during the call; do not dispose the transformer.
        /// </summary>
        public Action<LstmForecastingTransformer, int>? EpochEnd { get; set; }
        /// <summary>Stops training between steps (not saved with the model).</summary>
        public CancellationToken CancellationToken { get; set; }

        internal void Validate()
        {
            var problems = new List<string>();
            if (Epochs < 1) problems.Add($"Epochs must be at least 1, not {Epochs}.");
            if (HiddenSizes is null || HiddenSizes.Length == 0 || HiddenSizes.Any(h => h < 1)) problems.Add("HiddenSizes must list at least one positive layer size.");
            if (Dropouts is null || Dropouts.Length != (HiddenSizes?.Length ?? 0)) problems.Add("Dropouts must give one rate per layer.");
            else if (Dropouts.Any(d => d is < 0 or >= 1)) problems.Add("Each dropout rate must be in [0, 1).");
            if (!(LearningRate > 0) || !float.IsFinite(LearningRate)) problems.Add($"LearningRate must be positive, not {LearningRate}.");
            if (!(LearningRateDecay > 0 && LearningRateDecay <= 1)) problems.Add($"LearningRateDecay must be in (0, 1], not {LearningRateDecay}.");
            if (Vocabulary < 0) problems.Add($"Vocabulary must be 0 (frames) or positive, not {Vocabulary}.");
            if (Vocabulary > 0 && EmbeddingSize < 1) problems.Add($"EmbeddingSize must be positive, not {EmbeddingSize}.");
            if (!(TokenNoise >= 0 && TokenNoise < 1)) problems.Add($"TokenNoise must be in [0, 1), not {TokenNoise}.");
            if (SequenceLength < 1) problems.Add($"SequenceLength must be at least 1, not {SequenceLength}.");
            if (GradientClipNorm < 0) problems.Add($"GradientClipNorm must be 0 (off) or positive, not {GradientClipNorm}.");
            if (Device is not ("cpu" or "cuda")) problems.Add($"Device must be cpu or cuda, not {Device}.");
            else if (Device == "cuda" && !cuda.is_available())
                problems.Add("CUDA was asked for but is not available: no CUDA device was found, or this build carries the CPU-only TorchSharp (TorchSharp-cpu). Train on the CPU (the default) or install a CUDA build of TorchSharp.");
            if (Threads < 0) problems.Add($"Threads must be 0 (automatic) or positive, not {Threads}.");
            if (!(ValidationFraction >= 0 && ValidationFraction < 1)) problems.Add($"ValidationFraction must be in [0, 1), not {ValidationFraction}.");
            if (EarlyStoppingPatience < 0) problems.Add($"EarlyStoppingPatience must be 0 (off) or positive, not {EarlyStoppingPatience}.");
            if (EarlyStoppingPatience > 0 && ValidationFraction == 0) problems.Add("EarlyStoppingPatience needs a ValidationFraction above 0.");
            if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        }

        internal LstmForecastingTransformer.ColumnNames Names() =>
            new(FileColumnName, FeaturesColumnName, StreamColumnName, ResetStateColumnName, OutputColumnName);
    }

    /// <summary>Trains the network on <paramref name="input"/> and returns a transformer holding it.</summary>
    /// <exception cref="InvalidOperationException">There are no training frames, or the loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled through the options' token.</exception>
    public LstmForecastingTransformer Fit(IDataView input)
    {
        var schemaShape = SchemaShape.Create(input.Schema);
        GetOutputSchema(schemaShape);
        int dim = SchemaCheck.VectorSize(SchemaCheck.RequireFloatVector(input.Schema, options.FeaturesColumnName, knownSize: true));
        int targetDim = SchemaCheck.VectorSize(SchemaCheck.RequireFloatVector(input.Schema, options.TargetColumnName, knownSize: true));
        if (targetDim != dim) throw new ArgumentOutOfRangeException(nameof(input), $"Column '{options.TargetColumnName}' has {targetDim} values; '{options.FeaturesColumnName}' has {dim}.");
        bool batched = input.Schema.GetColumnOrNull(options.StreamColumnName) is not null
            && input.Schema.GetColumnOrNull(options.ResetStateColumnName) is not null;

        if (options.Threads > 0) set_num_threads(options.Threads);
        manual_seed(options.Seed);
        if (options.Vocabulary > 0 && dim != 1)
            throw new ArgumentOutOfRangeException(nameof(input), $"A token model reads one token per row; column '{options.FeaturesColumnName}' has {dim} values.");
        var network = new FrameLstm(dim, options.HiddenSizes, options.Dropouts, options.Vocabulary, options.EmbeddingSize,
            options.Vocabulary > 0 ? options.TokenDescriptors?.Invoke() : null);
        try
        {
            Train(network, input, batched);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return new LstmForecastingTransformer(options.Names(), network);
    }

    private void Train(FrameLstm network, IDataView input, bool batched)
    {
        var device = options.Device == "cuda" ? CUDA : CPU;
        network.to(device);
        try
        {
            Train(network, input, batched, device);
        }
        finally
        {
            network.to(CPU);
        }
    }

    private void Train(FrameLstm network, IDataView input, bool batched, Device device)
    {
        network.train();
        // One-step batches run faster without oneDNN, long sequences with it (../shared/design/torchsharp.md).
        using var oneDnn = OneDnn.Scope(enabled: options.SequenceLength > 1);
        using var optimizer = new AdamOptimizer(network.parameters(), options.LearningRate);
        var position = new TrainingPosition(0, double.PositiveInfinity, 0, 0, 0, 0);
        if (options.Resume && options.CheckpointPath is { } resumeFrom && File.Exists(resumeFrom))
            position = Checkpoint.Load(resumeFrom, network, optimizer, Fingerprint(network));
        int first = position.Epoch + 1;
        optimizer.LearningRate = options.LearningRate * Math.Pow(options.LearningRateDecay, first - 1);
        double best = position.BestLoss;
        int sinceBest = position.SinceBest;
        byte[]? bestWeights = null;
        var lastCheckpoint = DateTime.UtcNow;
        var segments = new CachedSegments(() => SequenceSegments.Read(input, options.FileColumnName, options.FeaturesColumnName,
            options.TargetColumnName, batched ? options.StreamColumnName : null, batched ? options.ResetStateColumnName : null));
        var heldOutFiles = HeldOutFiles(options.ValidationFraction > 0 ? segments.Preload() : null, options.ValidationFraction);
        for (int epoch = first; epoch <= options.Epochs && !(options.EarlyStoppingPatience > 0 && sinceBest >= options.EarlyStoppingPatience); epoch++)
        {
            var clock = Stopwatch.StartNew();
            bool resumedEpoch = epoch == first && position.Segment > 0;
            double lossSum = resumedEpoch ? position.LossSum : 0;
            long frames = resumedEpoch ? position.Frames : 0, framesBefore = frames;
            double Speed() => (frames - framesBefore) / clock.Elapsed.TotalSeconds;
            var lastReport = TimeSpan.Zero;
            IValidationTotals validation = network.Vocabulary > 0 ? new TokenValidationTotals(network.Vocabulary) : new ValidationTotals(network.FeatureSize);
            int index = -1;
            foreach (var segment in segments.Read())
            {
                index++;
                // Segments trained before a mid-epoch checkpoint are not trained again: only run forward for validation.
                bool replay = resumedEpoch && index < position.Segment;
                using var segmentScope = NewDisposeScope();
                var inputs = Tensors.Wrap(segment.Inputs, segment.Steps, segment.Streams, network.FeatureSize).to(device);
                var targets = Tensors.Wrap(segment.Targets!, segment.Steps, segment.Streams, network.FeatureSize).to(device);
                int held = HeldSteps(heldOutFiles, index, segment.Steps);
                int trainSteps = segment.Steps - held;
                LstmState? state = null;
                try
                {
                    if (replay && held > 0 && trainSteps > 0) state = RunWithoutTraining(network, inputs.narrow(0, 0, trainSteps));
                    for (int t = 0; t < trainSteps && !replay; t += options.SequenceLength)
                    {
                        // With checkpoints, a cancellation is honoured at the end of the segment, after a checkpoint.
                        if (options.CheckpointPath is null) options.CancellationToken.ThrowIfCancellationRequested();
                        int length = Math.Min(options.SequenceLength, trainSteps - t);
                        using var stepScope = NewDisposeScope();
                        network.zero_grad();
                        var (output, next) = network.call(Noisy(inputs.narrow(0, t, length), network.Vocabulary), state);
                        var loss = Loss(output, targets.narrow(0, t, length), network.Vocabulary);
                        loss.backward();
                        if (options.GradientClipNorm > 0) nn.utils.clip_grad_norm_(network.parameters(), options.GradientClipNorm);
                        optimizer.Step();
                        double value = loss.item<float>();
                        if (!double.IsFinite(value))
                            throw new InvalidOperationException($"Training stopped: the loss became {value} in epoch {epoch} ({segment.File}). " +
                                (options.CheckpointPath is { } kept && File.Exists(kept) ? $"The last good checkpoint is kept in {kept}. " : "") +
                                "Check that file's audio, or try a lower learning rate or gradient clipping.");
                        long stepFrames = (long)length * segment.Streams;
                        lossSum += value * stepFrames;
                        frames += stepFrames;
                        var carried = next.DetachToOuterScope();
                        state?.Dispose();
                        state = carried;
                        if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(1))
                        {
                            lastReport = clock.Elapsed;
                            options.Progress?.Invoke(new(epoch, options.Epochs, frames, Speed(), lossSum / frames, false));
                        }
                    }
                    validation.AddTraining(segment.Inputs.AsSpan(0, trainSteps * segment.Streams * network.FeatureSize), segment.Streams);
                    if (held > 0) Validate(network, inputs.narrow(0, trainSteps, held), targets.narrow(0, trainSteps, held), state, validation);
                }
                finally
                {
                    state?.Dispose();
                }
                if (!replay && options.CheckpointPath is { } path
                    && (options.CancellationToken.IsCancellationRequested || DateTime.UtcNow - lastCheckpoint >= options.CheckpointInterval && options.CheckpointInterval > TimeSpan.Zero))
                {
                    Checkpoint.Save(path, network, optimizer, new TrainingPosition(epoch - 1, best, sinceBest, index + 1, lossSum, frames), Fingerprint(network));
                    lastCheckpoint = DateTime.UtcNow;
                    options.CancellationToken.ThrowIfCancellationRequested();
                }
            }
            if (frames == 0)
                throw new InvalidOperationException("There are no training frames: every file is too short for two batches of frames.");
            var report = validation.Report();
            bool improved = report is not null && report.Loss < best;
            if (improved)
            {
                best = report!.Loss;
                bestWeights = Weights(network);
            }
            sinceBest = improved ? 0 : sinceBest + 1;
            if (options.CheckpointPath is { } checkpoint)
            {
                Checkpoint.Save(checkpoint, network, optimizer, new TrainingPosition(epoch, best, sinceBest, 0, 0, 0), Fingerprint(network));
                lastCheckpoint = DateTime.UtcNow;
                // The best epoch by validation loss is kept beside the last one.
                if (improved) AtomicFile.Write(BestCheckpointPath(checkpoint), tmp => File.Copy(checkpoint, tmp, overwrite: true));
            }
            options.Progress?.Invoke(new(epoch, options.Epochs, frames, Speed(), lossSum / frames, true)
            {
                Validation = report,
            });
            if (options.EpochEnd is { } epochEnd)
            {
                var rng = get_rng_state(); // a preview must not change the training's random draws
                try
                {
                    epochEnd(new LstmForecastingTransformer(options.Names(), network), epoch);
                }
                finally
                {
                    set_rng_state(rng);
                    rng.Dispose();
                    network.train();
                }
            }
            optimizer.LearningRate *= options.LearningRateDecay;
        }
        // With validation, the network returned is the best epoch's, not the last one's.
        if (sinceBest > 0 && bestWeights is not null) network.load(new MemoryStream(bestWeights));
        else if (sinceBest > 0 && options.CheckpointPath is { } path && File.Exists(BestCheckpointPath(path)))
        {
            using var scratch = new AdamOptimizer(network.parameters(), options.LearningRate);
            Checkpoint.Load(BestCheckpointPath(path), network, scratch, Fingerprint(network));
        }
        if (network.Vocabulary > 0 && options.TokenStatistics is { } statistics)
            FitBackoff(network, segments, heldOutFiles, statistics());
        network.eval();
    }

    private static byte[] Weights(FrameLstm network)
    {
        var stream = new MemoryStream();
        network.save(stream); // closes the stream; ToArray still works
        return stream.ToArray();
    }

    /// <summary>Where the best epoch's checkpoint is kept: <c>NAME.best.EXT</c> beside <paramref name="checkpoint"/>.</summary>
    public static string BestCheckpointPath(string checkpoint) =>
        Path.Combine(Path.GetDirectoryName(checkpoint) ?? "", Path.GetFileNameWithoutExtension(checkpoint) + ".best" + Path.GetExtension(checkpoint));

    /// <summary>What a checkpoint must match to be resumed: the network's shape and the options that change training.</summary>
    private string Fingerprint(FrameLstm network) => string.Join(";", network.FeatureSize, string.Join(",", options.HiddenSizes),
        string.Join(",", options.Dropouts), options.Vocabulary, options.EmbeddingSize, network.DescriptorSize, options.TokenNoise, options.LearningRate, options.LearningRateDecay, options.SequenceLength, options.GradientClipNorm, options.Seed, options.ValidationFraction);

    /// <summary>
    /// The files (by order) held out whole for validation: with 3 or more files, round(files x fraction) of them (at
    /// least one) spread evenly; none when there are fewer files or their count is unknown (then the end of each file is
    /// held out instead).
    /// </summary>
    internal static HashSet<int> HeldOutFiles(int? files, double fraction)
    {
        if (files is not { } n || n < 3 || fraction <= 0) return [];
        int held = Math.Clamp((int)Math.Round(n * fraction), 1, n - 1);
        return Enumerable.Range(0, held).Select(j => (int)Math.Floor((j + 0.5) * n / held)).ToHashSet();
    }

    /// <summary>Held-out steps at the end of segment <paramref name="index"/>: all of a held-out file, else the validation share of it.</summary>
    private int HeldSteps(HashSet<int> heldOutFiles, int index, int steps) =>
        heldOutFiles.Contains(index) ? steps
        : heldOutFiles.Count == 0 && options.ValidationFraction > 0 && steps >= 2 ? Math.Max(1, (int)Math.Ceiling(steps * options.ValidationFraction))
        : 0;

    /// <summary>
    /// Fits a token model's backoff weight on the held-out steps: the weight in 0, 0.01, ..., 0.99 with the lowest
    /// cross-entropy of the interpolated distribution (0 when the network alone is best).
    /// </summary>
    private void FitBackoff(FrameLstm network, CachedSegments segments, HashSet<int> heldOutFiles, (IReadOnlyList<long> Counts, double RepeatRate) statistics)
    {
        network.SetBackoff(statistics.Counts, statistics.RepeatRate, 0);
        var baseline = new RepeatOrUnigram(statistics.Counts, statistics.RepeatRate);
        var model = new List<double>();
        var backoff = new List<double>();
        using var noGrad = no_grad();
        network.eval();
        int index = -1;
        foreach (var segment in segments.Read())
        {
            index++;
            int held = HeldSteps(heldOutFiles, index, segment.Steps), trainSteps = segment.Steps - held;
            if (held == 0) continue;
            using var scope = NewDisposeScope();
            var inputs = Tensors.Wrap(segment.Inputs, segment.Steps, segment.Streams, 1);
            LstmState? state = trainSteps > 0 ? network.call(inputs.narrow(0, 0, trainSteps), null).State : null;
            var logProbs = nn.functional.log_softmax(network.call(inputs.narrow(0, trainSteps, held), state).Output, -1);
            var next = Tensors.Wrap(segment.Targets!, segment.Steps, segment.Streams, 1).narrow(0, trainSteps, held).to_type(ScalarType.Int64);
            var picked = Tensors.ToArray(logProbs.gather(-1, next));
            for (int i = 0; i < picked.Length; i++)
            {
                int previous = (int)segment.Inputs[trainSteps * segment.Streams + i], token = (int)segment.Targets![trainSteps * segment.Streams + i];
                model.Add(Math.Exp(picked[i]));
                backoff.Add(baseline.Probability(previous, token));
            }
        }
        if (model.Count == 0) return;
        double CrossEntropy(double w) => -Enumerable.Range(0, model.Count).Average(i => Math.Log((1 - w) * model[i] + w * backoff[i]));
        double best = Enumerable.Range(0, 100).Select(i => i / 100.0).MinBy(CrossEntropy);
        network.SetBackoff(statistics.Counts, statistics.RepeatRate, best);
        network.BackoffFit = (CrossEntropy(0), CrossEntropy(best), -backoff.Average(Math.Log));
    }

    /// <summary>MSE for a frame model; cross-entropy of the next token for a token model.</summary>
    internal static Tensor Loss(Tensor output, Tensor targets, int vocabulary) => vocabulary == 0
        ? nn.functional.mse_loss(output, targets)
        : nn.functional.cross_entropy(output.reshape(-1, vocabulary), targets.reshape(-1).to_type(ScalarType.Int64));

    /// <summary>A token model's inputs with <see cref="Options.TokenNoise"/> of them replaced by random tokens.</summary>
    private Tensor Noisy(Tensor inputs, int vocabulary)
    {
        if (vocabulary == 0 || options.TokenNoise == 0) return inputs;
        using Scalar share = options.TokenNoise;
        var replace = rand(inputs.shape, device: inputs.device).lt(share);
        return where(replace, randint(vocabulary, inputs.shape, device: inputs.device).to_type(ScalarType.Float32), inputs);
    }

    /// <summary>The state after running <paramref name="inputs"/> from zeros, without dropout, gradients or random draws.</summary>
    private static LstmState RunWithoutTraining(FrameLstm network, Tensor inputs)
    {
        using var noGrad = no_grad();
        network.eval();
        try
        {
            var (_, state) = network.call(inputs, null);
            return state.DetachToOuterScope();
        }
        finally
        {
            network.train();
        }
    }

    /// <summary>Teacher-forced loss on held-out steps, continuing the trained part's state, with both baselines.</summary>
    private static void Validate(FrameLstm network, Tensor inputs, Tensor targets, LstmState? state, IValidationTotals totals)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        network.eval();
        try
        {
            var (output, next) = network.call(inputs, state);
            next.Dispose();
            long count = inputs.shape[0] * inputs.shape[1];
            totals.Add(count, Loss(output, targets, network.Vocabulary).item<float>(), Tensors.ToArray(inputs), Tensors.ToArray(targets));
        }
        finally
        {
            network.train();
        }
    }

    /// <summary>Sums for one epoch's validation figures; the baselines need the training data's statistics, known at the epoch's end.</summary>
    private interface IValidationTotals
    {
        /// <summary>Counts training inputs ([T, B, D] time-major).</summary>
        void AddTraining(ReadOnlySpan<float> inputs, int streams);

        /// <summary>Adds held-out steps: the network's mean loss over them, their inputs and their targets.</summary>
        void Add(long count, double lossMean, float[] inputs, float[] targets);

        ValidationReport? Report();
    }

    /// <summary>Frame model: MSE of the network, of repeating the input frame, and of the training frames' mean.</summary>
    private sealed class ValidationTotals(int dim) : IValidationTotals
    {
        private readonly double[] trainSum = new double[dim];
        private readonly double[] heldSum = new double[dim];
        private readonly double[] heldSquares = new double[dim];
        private long trainFrames;
        private long heldFrames;
        private double loss;
        private double repeat;

        public void AddTraining(ReadOnlySpan<float> frames, int streams)
        {
            for (int i = 0; i < frames.Length; i++) trainSum[i % dim] += frames[i];
            trainFrames += frames.Length / dim;
        }

        public void Add(long count, double lossMean, float[] inputs, float[] targets)
        {
            loss += lossMean * count;
            heldFrames += count;
            for (int i = 0; i < targets.Length; i++)
            {
                repeat += Math.Pow(inputs[i] - targets[i], 2) / dim;
                heldSum[i % dim] += targets[i];
                heldSquares[i % dim] += (double)targets[i] * targets[i];
            }
        }

        public ValidationReport? Report()
        {
            if (heldFrames == 0 || trainFrames == 0) return null;
            // Mean squared error of the constant m against the held-out targets y: sum over d of (n m^2 - 2 m S + Q), over n D.
            double meanError = 0;
            for (int d = 0; d < dim; d++)
            {
                double m = trainSum[d] / trainFrames;
                meanError += heldFrames * m * m - 2 * m * heldSum[d] + heldSquares[d];
            }
            return new ValidationReport(heldFrames, loss / heldFrames, repeat / heldFrames, meanError / ((double)heldFrames * dim));
        }
    }

    /// <summary>
    /// Token model, in cross-entropy (nats per token): the network; "repeat the previous token", as the distribution
    /// r [same token] + (1 - r) unigram, with r the training streams' repeat rate; and the unigram frequencies (add-one
    /// smoothed) of the training tokens.
    /// </summary>
    private sealed class TokenValidationTotals(int vocabulary) : IValidationTotals
    {
        private readonly long[] counts = new long[vocabulary];
        private readonly List<(int Previous, int Next)> held = [];
        private long repeats;
        private long pairs;
        private double loss;

        public void AddTraining(ReadOnlySpan<float> tokens, int streams)
        {
            for (int i = 0; i < tokens.Length; i++)
            {
                counts[(int)tokens[i]]++;
                if (i < streams) continue;
                pairs++;
                if (tokens[i] == tokens[i - streams]) repeats++;
            }
        }

        public void Add(long count, double lossMean, float[] inputs, float[] targets)
        {
            loss += lossMean * count;
            for (int i = 0; i < inputs.Length; i++) held.Add(((int)inputs[i], (int)targets[i]));
        }

        public ValidationReport? Report()
        {
            if (held.Count == 0 || counts.Sum() == 0) return null;
            var baseline = new RepeatOrUnigram(counts, pairs == 0 ? 0 : (double)repeats / pairs);
            double repeat = 0, unigram = 0;
            foreach (var (previous, next) in held)
            {
                repeat -= Math.Log(baseline.Probability(previous, next));
                unigram -= Math.Log(baseline.Unigram(next));
            }
            return new ValidationReport(held.Count, loss / held.Count, repeat / held.Count, unigram / held.Count) { CrossEntropy = true };
        }
    }

    /// <summary>
    /// The training segments, read from the pipeline once and kept in memory when they fit in 256 MB (token models
    /// always do), else read again every epoch.
    /// </summary>
    private sealed class CachedSegments(Func<IEnumerable<SequenceSegment>> read)
    {
        private const long MaxFloats = 64L << 20;
        private List<SequenceSegment>? cache;

        /// <summary>Reads every segment into memory if they fit, and returns how many there are (null when they do not fit).</summary>
        public int? Preload()
        {
            if (cache is not null) return cache.Count;
            var kept = new List<SequenceSegment>();
            long floats = 0;
            foreach (var segment in read())
            {
                floats += segment.Inputs.Length + (segment.Targets?.Length ?? 0);
                if (floats > MaxFloats) return null;
                kept.Add(segment);
            }
            cache = kept;
            return kept.Count;
        }

        public IEnumerable<SequenceSegment> Read()
        {
            if (cache is not null)
            {
                foreach (var segment in cache) yield return segment;
                yield break;
            }
            var kept = new List<SequenceSegment>();
            long floats = 0;
            bool complete = true;
            foreach (var segment in read())
            {
                floats += segment.Inputs.Length + (segment.Targets?.Length ?? 0);
                if (floats <= MaxFloats) kept.Add(segment);
                else
                {
                    complete = false;
                    kept.Clear();
                }
                yield return segment;
            }
            if (complete) cache = kept;
        }
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireText(inputSchema, options.FileColumnName);
        SchemaShapes.RequireFloatVector(inputSchema, options.FeaturesColumnName);
        SchemaShapes.RequireFloatVector(inputSchema, options.TargetColumnName);
        return SchemaShapes.Append(inputSchema, SchemaShapes.Vector(options.OutputColumnName, knownSize: true));
    }
}
