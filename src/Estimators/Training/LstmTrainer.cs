using System.Diagnostics;
using MusicGen.Transforms.Batching;
using MusicGen.Transforms.IO;
using MusicGen.Transforms.Network;
using MusicGen.Transforms.Tokens;
using MusicGen.Transforms.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MusicGen.Estimators.Training;

/// <summary>
/// The training loop of <see cref="LstmForecastingEstimator"/>: epochs over the segments with truncated
/// backpropagation through time, validation on the held-out rows (<see cref="HoldOut"/>), checkpoints (at epoch ends, every interval at the
/// end of a file, on cancellation) and the best epoch kept, then a token model's backoff fitted on the held-out rows.
/// </summary>
internal sealed class LstmTrainer(LstmForecastingEstimator.Options options, SegmentCache segments, HoldOut holdOut, TokenAnnotations? tokens,
    Action<FrameLstm, int>? epochEnd)
{
    public void Train(FrameLstm network)
    {
        var device = options.Device == "cuda" ? CUDA : CPU;
        network.to(device);
        try
        {
            Train(network, device);
        }
        finally
        {
            network.to(CPU);
        }
    }

    private void Train(FrameLstm network, Device device)
    {
        network.train();
        // One-step batches run faster without oneDNN, long sequences with it (docs/design.md), where its LSTM kernel
        // agrees with LibTorch's own on this CPU for every layer's shape (OneDnn.LstmAgrees).
        using var oneDnn = OneDnn.Scope(enabled: options.SequenceLength > 1 && network.LayerShapes.All(s => OneDnn.LstmAgrees(s.Inputs, s.Hidden)));
        using var optimizer = Optimizer(network);
        var position = new TrainingPosition(0, double.PositiveInfinity, 0, 0, 0, 0);
        if (options.Resume && options.CheckpointPath is { } resumeFrom && File.Exists(resumeFrom))
            position = Checkpoint.Load(resumeFrom, network, optimizer, Fingerprint(network));
        else if (network.TokenCount > 0 && tokens is not null && options.StartFromBaseline)
            network.StartFromBaseline(tokens.Frequencies, tokens.RepeatRate);
        int first = position.Epoch + 1;
        optimizer.LearningRate = options.LearningRate * Math.Pow(options.LearningRateDecay, first - 1);
        double best = position.BestLoss;
        int sinceBest = position.SinceBest;
        byte[]? bestWeights = null;
        var lastCheckpoint = DateTime.UtcNow;
        long? epochFrames = segments.Loaded?.Sum(g => TrainingPart.Of(g, holdOut).Frames);
        for (int epoch = first; epoch <= options.Epochs && !(options.EarlyStoppingPatience > 0 && sinceBest >= options.EarlyStoppingPatience); epoch++)
        {
            var clock = Stopwatch.StartNew();
            bool resumedEpoch = epoch == first && position.Segment > 0;
            double lossSum = resumedEpoch ? position.LossSum : 0;
            long frames = resumedEpoch ? position.Frames : 0, framesBefore = frames;
            double Speed() => (frames - framesBefore) / clock.Elapsed.TotalSeconds;
            var lastReport = TimeSpan.Zero;
            IValidationTotals validation = network.TokenCount > 0 ? new TokenValidationTotals(network.TokenCount) : new FrameValidationTotals(network.FeatureSize);
            int index = -1;
            foreach (var segment in segments.Read())
            {
                index++;
                // Segments trained before a mid-epoch checkpoint are not trained again: only run forward for validation.
                bool replay = resumedEpoch && index < position.Segment;
                using var segmentScope = NewDisposeScope();
                var inputs = Tensors.Wrap(segment.Inputs, segment.Steps, segment.Streams, network.FeatureSize).to(device);
                var targets = Tensors.Wrap(segment.Targets!, segment.Steps, segment.Streams, network.FeatureSize).to(device);
                var part = TrainingPart.Of(segment, holdOut);
                var (trainInputs, trainTargets) = part.Train(inputs, targets);
                if (network.TokenCount > 0 && !replay) (trainInputs, trainTargets) = Relabelled(trainInputs, trainTargets, network.TokenCount, options.RelabelShare);
                int trainSteps = part.Steps;
                LstmState? state = null;
                try
                {
                    if (replay && part.ValidationContinues && trainSteps > 0) state = RunWithoutTraining(network, trainInputs);
                    for (int t = 0; t < trainSteps && !replay; t += options.SequenceLength)
                    {
                        // With checkpoints, a cancellation is honoured at the end of the segment, after a checkpoint.
                        if (options.CheckpointPath is null) options.CancellationToken.ThrowIfCancellationRequested();
                        int length = Math.Min(options.SequenceLength, trainSteps - t);
                        using var stepScope = NewDisposeScope();
                        network.zero_grad();
                        var (output, next) = network.call(Noisy(trainInputs.narrow(0, t, length), network.TokenCount), state);
                        var loss = Loss(output, trainTargets.narrow(0, t, length), network.TokenCount);
                        loss.backward();
                        if (options.GradientClipNorm > 0) nn.utils.clip_grad_norm_(network.parameters(), options.GradientClipNorm);
                        optimizer.Step();
                        double value = loss.item<float>();
                        if (!double.IsFinite(value))
                            throw new InvalidOperationException($"Training stopped: the loss became {value} in epoch {epoch} ({segment.File}). " +
                                (options.CheckpointPath is { } kept && File.Exists(kept) ? $"The last good checkpoint is kept in {kept}. " : "") +
                                "Check that file's audio, or try a lower learning rate or gradient clipping.");
                        long stepFrames = (long)length * part.Streams;
                        lossSum += value * stepFrames;
                        frames += stepFrames;
                        var carried = next.DetachToOuterScope();
                        state?.Dispose();
                        state = carried;
                        if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(1))
                        {
                            lastReport = clock.Elapsed;
                            options.Progress?.Invoke(new(epoch, options.Epochs, frames, Speed(), lossSum / frames, false) { EpochFrames = epochFrames });
                        }
                    }
                    validation.AddTraining(part.TrainingInputs(segment, network.FeatureSize), part.Streams);
                    if (part.Validates)
                    {
                        var (heldInputs, heldTargets) = part.HeldOut(inputs, targets);
                        Validate(network, heldInputs, heldTargets, part.ValidationContinues ? state : null, validation);
                    }
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
                if (improved) AtomicFile.Write(Checkpoint.BestPath(checkpoint), tmp => File.Copy(checkpoint, tmp, overwrite: true));
            }
            options.Progress?.Invoke(new(epoch, options.Epochs, frames, Speed(), lossSum / frames, true)
            {
                Validation = report,
                EpochFrames = epochFrames,
            });
            if (epochEnd is not null)
            {
                var rng = get_rng_state(); // a preview must not change the training's random draws
                try
                {
                    network.eval();
                    epochEnd(network, epoch);
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
        else if (sinceBest > 0 && options.CheckpointPath is { } path && File.Exists(Checkpoint.BestPath(path)))
        {
            using var scratch = Optimizer(network);
            Checkpoint.Load(Checkpoint.BestPath(path), network, scratch, Fingerprint(network));
        }
        if (network.TokenCount > 0 && options.FitBackoff && tokens is not null) BackoffFitting.Fit(network, segments.Read(), holdOut, tokens);
        network.eval();
    }

    private static byte[] Weights(FrameLstm network)
    {
        var stream = new MemoryStream();
        network.save(stream); // closes the stream; ToArray still works
        return stream.ToArray();
    }

    /// <summary>
    /// Adam over the network's parameters, the beat clock's and the onset term's gains faster than the others
    /// (<see cref="FrameLstm.RateScale"/>).
    /// </summary>
    private AdamOptimizer Optimizer(FrameLstm network) => new(network.parameters(), options.LearningRate,
        rateScales: network.named_parameters().Select(p => FrameLstm.RateScale(p.name)).ToArray());

    /// <summary>What a checkpoint must match to be resumed: the network's shape and the options that change training.</summary>
    private string Fingerprint(FrameLstm network) => string.Join(";", network.FeatureSize, string.Join(",", options.HiddenSizes),
        string.Join(",", options.Dropouts), network.TokenCount, options.EmbeddingSize, network.DescriptorSize, options.TokenNoise, options.LearningRate,
        options.LearningRateDecay, options.SequenceLength, options.GradientClipNorm, options.Seed, options.ValidationFraction)
        + (network.SuccessorCache ? ";successor cache" : "") + (network.PeriodicCopy ? ";periodic copy" : "")
        + (network.BeatClock ? ";beat clock" : "") + (network.OnsetTerm ? ";onset term" : "")
        + (options.RelabelShare > 0 ? FormattableString.Invariant($";relabel {options.RelabelShare}") : "")
        + (options.DataFingerprint is { Length: > 0 } data ? Checkpoint.DataSeparator + data : "");

    /// <summary>MSE for a frame model; cross-entropy of the next token for a token model.</summary>
    internal static Tensor Loss(Tensor output, Tensor targets, int tokenCount) => tokenCount == 0
        ? nn.functional.mse_loss(output, targets)
        : nn.functional.cross_entropy(output.reshape(-1, tokenCount), targets.reshape(-1).to_type(ScalarType.Int64));

    /// <summary>A token model's inputs with <see cref="LstmForecastingEstimator.Options.TokenNoise"/> of them replaced by random tokens.</summary>
    private Tensor Noisy(Tensor inputs, int tokenCount)
    {
        if (tokenCount == 0 || options.TokenNoise == 0) return inputs;
        using Scalar share = options.TokenNoise;
        var replace = rand(inputs.shape, device: inputs.device).lt(share);
        return where(replace, randint(tokenCount, inputs.shape, device: inputs.device).to_type(ScalarType.Float32), inputs);
    }

    /// <summary>
    /// A token model's training inputs and targets [T, B, 1] with <see cref="LstmForecastingEstimator.Options.RelabelShare"/>
    /// of the streams renamed through one random permutation of the tokens each (the same for inputs and targets).
    /// </summary>
    internal static (Tensor Inputs, Tensor Targets) Relabelled(Tensor inputs, Tensor targets, int tokenCount, double share)
    {
        if (tokenCount == 0 || share == 0) return (inputs, targets);
        long steps = inputs.shape[0], streams = inputs.shape[1];
        var table = arange(tokenCount, device: inputs.device).unsqueeze(0).repeat(streams, 1); // [B, V]: stream b plays table[b, v] for v
        using Scalar chance = share;
        var chosen = rand(streams).lt(chance).data<bool>().ToArray();
        for (long b = 0; b < streams; b++)
            if (chosen[b]) table[b] = randperm(tokenCount, device: inputs.device);
        Tensor Renamed(Tensor x) => table.unsqueeze(0).expand(steps, -1, -1)
            .gather(2, x.to_type(ScalarType.Int64)).to_type(x.dtype);
        return (Renamed(inputs), Renamed(targets));
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

    /// <summary>Teacher-forced loss on held-out rows from <paramref name="state"/> (the trained part's, or zeros), with both baselines.</summary>
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
            totals.Add(count, Loss(output, targets, network.TokenCount).item<float>(), Tensors.ToArray(inputs), Tensors.ToArray(targets));
        }
        finally
        {
            network.train();
        }
    }
}
