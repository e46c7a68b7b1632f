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
/// training's. With a bias strength (<see cref="GenerationOptions.SeedBias"/>) a shift of each token's bias is fitted
/// with them, pulled to 0 the same way: one for each token the excerpt plays and one shared by all it does not (the
/// excerpt says nothing to tell those apart), so the seed's sounds that the network under-predicts are favoured for
/// the whole take. <see cref="Dispose"/> puts the trained values back.
/// </summary>
internal sealed class SeedAdaptation : IDisposable
{
    /// <summary>Adam steps of the fit, each over the whole excerpt in plain loops (<see cref="MemoryGainLoss"/>).</summary>
    internal const int Steps = 100;

    /// <summary>Adam's step size: a gain moves by at most about this much a step.</summary>
    internal const double LearningRate = 0.05;

    private readonly (TorchSharp.Modules.Parameter Parameter, Tensor Trained)[] saved;
    private readonly double strength;
    private readonly double biasStrength;
    private readonly (TorchSharp.Modules.Parameter Parameter, Tensor Trained)? bias;

    /// <summary>
    /// Keeps <paramref name="network"/>'s trained memory gains and token biases, to fit the gains with
    /// <paramref name="strength"/> and shifts of the biases with <paramref name="biasStrength"/> (0: not fitted) and
    /// put them back when disposed.
    /// </summary>
    public SeedAdaptation(FrameLstm network, double strength, double biasStrength = 0)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (!(strength >= 0) || !double.IsFinite(strength)) throw new ArgumentOutOfRangeException(nameof(strength), "The strength must be 0 (none) or more.");
        if (!(biasStrength >= 0) || !double.IsFinite(biasStrength)) throw new ArgumentOutOfRangeException(nameof(biasStrength), "The strength must be 0 (none) or more.");
        this.strength = strength;
        this.biasStrength = biasStrength;
        // The scope also holds each detach() while it is cloned (docs/design.md, "Scalars must outlive the call").
        using var scope = NewDisposeScope();
        saved = network.MemoryGains.Select(p => (p, p.detach().clone().DetachFromDisposeScope())).ToArray();
        if (biasStrength > 0) bias = (network.TokenBias, network.TokenBias.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>Whether <see cref="Fit"/> fits anything: the gains with a strength above 0, or the biases.</summary>
    public bool Fits => (strength > 0 && saved.Length > 0) || bias is not null;

    /// <summary>The excerpt's mean next-token cross-entropy (nats) with the trained values and with the fitted ones; NaN where nothing was fitted.</summary>
    public (double Before, double After) Loss { get; private set; } = (double.NaN, double.NaN);

    /// <summary>
    /// Fits the gains (and bias shifts) to the excerpt whose loss is <paramref name="loss"/> (<see cref="FrameLstm.MemoryFit"/>,
    /// or what <see cref="FrameLstm.Prime"/> passes) and sets them; where the loss stops being finite they stay as trained.
    /// </summary>
    public void Fit(MemoryGainLoss loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (!Fits) return;
        var trained = saved.SelectMany(s => Tensors.ToArray(s.Trained)).Select(v => (double)v).ToArray();
        if (loss.GainCount != trained.Length) throw new ArgumentException($"The loss weighs {loss.GainCount} gains; the network has {trained.Length}.", nameof(loss));
        var start = trained.Concat(new double[bias is null ? 0 : loss.Columns]).ToArray();
        // A pull of infinity holds what is not fitted where it was.
        var pulls = start.Select((_, i) => 1 / (i < trained.Length ? strength : biasStrength)).ToArray();
        var fitted = Adam(loss, start, pulls, out double before, out double after);
        Loss = (before, after);
        if (fitted is null) return;
        Set(fitted);
        if (bias is { } b)
        {
            var shift = Enumerable.Repeat((float)fitted[^1], (int)b.Parameter.numel()).ToArray();
            for (int k = 0; k < loss.ColumnTokens.Count; k++) shift[loss.ColumnTokens[k]] = (float)fitted[trained.Length + k];
            using var noGrad = no_grad();
            using var added = Tensors.Wrap(shift, b.Parameter.shape);
            b.Parameter.copy_(b.Trained).PlusInPlace(added);
            GC.KeepAlive(shift);
        }
    }

    /// <summary>
    /// <see cref="Steps"/> steps of Adam (<see cref="AdamOptimizer"/>'s arithmetic, in doubles) on the excerpt's mean
    /// cross-entropy plus each value's squared change from <paramref name="trained"/> times its <paramref name="pull"/>
    /// (infinity: held); null where the loss stops being finite.
    /// </summary>
    private static double[]? Adam(MemoryGainLoss loss, double[] trained, double[] pull, out double before, out double after)
    {
        const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
        var gains = (double[])trained.Clone();
        var gradient = new double[gains.Length];
        var first = new double[gains.Length];
        var second = new double[gains.Length];
        before = after = double.NaN;
        for (int step = 0; step <= Steps; step++)
        {
            after = loss.CrossEntropy(gains, gradient);
            if (step == 0) before = after;
            if (!double.IsFinite(after)) return null;
            if (step == Steps) break;
            double correction1 = 1 - Math.Pow(beta1, step + 1), correction2 = 1 - Math.Pow(beta2, step + 1);
            for (int i = 0; i < gains.Length; i++)
            {
                if (double.IsPositiveInfinity(pull[i])) continue;
                double g = gradient[i] + 2 * pull[i] * (gains[i] - trained[i]);
                first[i] = beta1 * first[i] + (1 - beta1) * g;
                second[i] = beta2 * second[i] + (1 - beta2) * g * g;
                gains[i] -= LearningRate / correction1 * first[i] / (Math.Sqrt(second[i]) / Math.Sqrt(correction2) + epsilon);
            }
        }
        return gains;
    }

    /// <summary>Writes <paramref name="values"/> into the gains, in their order.</summary>
    private void Set(double[] values)
    {
        using var noGrad = no_grad();
        int at = 0;
        foreach (var (parameter, _) in saved)
        {
            var slice = values.Skip(at).Take((int)parameter.numel()).Select(v => (float)v).ToArray();
            at += slice.Length;
            using var source = Tensors.Wrap(slice, parameter.shape);
            parameter.copy_(source);
            GC.KeepAlive(slice);
        }
    }

    private void Restore()
    {
        using var noGrad = no_grad();
        foreach (var (parameter, trained) in saved) parameter.copy_(trained);
        if (bias is { } b) b.Parameter.copy_(b.Trained);
    }

    /// <summary>Puts the trained gains and biases back.</summary>
    public void Dispose()
    {
        Restore();
        foreach (var (_, trained) in saved) trained.Dispose();
        bias?.Trained.Dispose();
    }
}
