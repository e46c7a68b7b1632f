using MusicGen.Estimators.Training;
using TorchSharp;
using MusicGen.Transforms.Network;
using MusicGen.Transforms.Torch;
using static TorchSharp.torch;

namespace MusicGen;

/// <summary>
/// Fits a token network's in-song memory gains to one seed before the takes continue it (dynamic evaluation of a few
/// parameters, <see cref="GenerationOptions.SeedAdaptation"/>): the gains of its recent-token caches, its successor
/// cache and its beat clock (<see cref="FrameLstm.MemoryGains"/>, 7 numbers in the default preset) say how far the
/// network trusts what this song has played so far. They are fitted to the primed excerpt's own next-token
/// cross-entropy, everything else held fixed, with a quadratic pull back to the trained values: the excerpt's mean
/// cross-entropy plus the summed squared change over the strength is minimised. A seed that repeats itself more than
/// the training music did raises them, and the take keeps to its sounds; one that does not leaves them near the
/// training's. <see cref="Dispose"/> puts the trained values back.
/// </summary>
internal sealed class SeedAdaptation : IDisposable
{
    /// <summary>Adam steps of the fit, each over the whole excerpt (<see cref="FrameLstm.MemoryFit"/>: the fit adds 0.2-0.35 s to a take, its LSTM pass included).</summary>
    internal const int Steps = 100;

    /// <summary>Adam's step size: a gain moves by at most about this much a step.</summary>
    internal const double LearningRate = 0.05;

    /// <summary>The most steps of an excerpt the fit reads (its last ones): what the network runs at once.</summary>
    internal const int MaxSteps = 2 * FrameLstm.PieceSteps;

    private readonly (TorchSharp.Modules.Parameter Parameter, Tensor Trained)[] saved;

    private SeedAdaptation((TorchSharp.Modules.Parameter, Tensor)[] saved) => this.saved = saved;

    /// <summary>The excerpt's mean next-token cross-entropy (nats) with the trained gains and with the fitted ones; NaN where nothing was fitted.</summary>
    public (double Before, double After) Loss { get; private set; } = (double.NaN, double.NaN);

    /// <summary>
    /// Fits the memory gains of <paramref name="network"/> to <paramref name="tokens"/> (the primed excerpt) with
    /// <paramref name="strength"/> (0: nothing is fitted); the caller disposes the result to restore them.
    /// </summary>
    public static SeedAdaptation Fit(FrameLstm network, int[] tokens, double strength)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(tokens);
        if (!(strength >= 0) || !double.IsFinite(strength)) throw new ArgumentOutOfRangeException(nameof(strength), "The strength must be 0 (none) or more.");
        // The scope also holds each detach() while it is cloned (docs/design.md, "Scalars must outlive the call").
        using var scope = NewDisposeScope();
        var gains = network.MemoryGains;
        var adaptation = new SeedAdaptation(gains.Select(p => (p, p.detach().clone().DetachFromDisposeScope())).ToArray());
        if (strength == 0 || tokens.Length < 2 || gains.Count == 0) return adaptation;
        var excerpt = tokens.AsSpan(Math.Max(0, tokens.Length - 1 - MaxSteps)).ToArray();
        var inputs = tensor(excerpt[..^1].Select(t => (float)t).ToArray(), [excerpt.Length - 1, 1, 1]);
        var targets = tensor(excerpt[1..].Select(t => (float)t).ToArray(), [excerpt.Length - 1, 1, 1]);
        var crossEntropyOf = network.MemoryFit(inputs, targets);
        using var optimizer = new AdamOptimizer(gains, LearningRate);
        using Scalar pull = 1 / strength;
        double before = double.NaN, after = double.NaN;
        for (int step = 0; step <= Steps; step++)
        {
            using var stepScope = NewDisposeScope();
            foreach (var p in gains) p.grad?.zero_();
            var crossEntropy = crossEntropyOf();
            after = crossEntropy.item<float>();
            if (step == 0) before = after;
            if (step == Steps || !double.IsFinite(after)) break;
            var loss = crossEntropy;
            foreach (var (gain, trained) in adaptation.saved) loss = loss.Plus(gain.Minus(trained).Squared().sum().mul(pull));
            loss.backward();
            optimizer.Step();
        }
        foreach (var p in gains) p.grad?.zero_();
        adaptation.Loss = (before, after);
        if (!double.IsFinite(after)) adaptation.Restore();
        return adaptation;
    }

    private void Restore()
    {
        using var noGrad = no_grad();
        foreach (var (parameter, trained) in saved) parameter.copy_(trained);
    }

    /// <summary>Puts the trained gains back.</summary>
    public void Dispose()
    {
        Restore();
        foreach (var (_, trained) in saved) trained.Dispose();
    }
}
