using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using MusicGen.Transforms.Torch;

namespace MusicGen.Estimators.Training;

/// <summary>
/// Adam (Kingma and Ba), the same update as torch.optim.Adam without weight decay. Ours rather than TorchSharp's because
/// TorchSharp 0.107's Adam passes temporary <see cref="Scalar"/>s to native code without keeping them alive, so a garbage
/// collection during <c>step()</c> can free one mid-call ("Unknown scalar type", seen in CI). Here every scalar is held
/// until the step ends. Its state (moments and step count) is plain tensors that can be saved and restored.
/// </summary>
public sealed class AdamOptimizer : IDisposable
{
    private readonly Parameter[] parameters;
    private readonly Tensor[] firstMoments;
    private readonly Tensor[] secondMoments;
    private readonly double[] rateScales;

    /// <summary>Creates the optimizer with zero moments.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">Step size.</param>
    /// <param name="beta1">Decay of the first moment.</param>
    /// <param name="beta2">Decay of the second moment.</param>
    /// <param name="epsilon">Added to the denominator for stability.</param>
    /// <param name="rateScales">Per parameter, a multiple of the step size (null: 1 for all).</param>
    public AdamOptimizer(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
        IReadOnlyList<double>? rateScales = null)
    {
        this.parameters = parameters.ToArray();
        if (rateScales is not null && rateScales.Count != this.parameters.Length)
            throw new ArgumentException($"Give one rate scale per parameter ({this.parameters.Length}), not {rateScales.Count}.", nameof(rateScales));
        this.rateScales = rateScales?.ToArray() ?? Enumerable.Repeat(1.0, this.parameters.Length).ToArray();
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        using var noGrad = no_grad();
        firstMoments = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        secondMoments = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Step size.</summary>
    public double LearningRate { get; set; }

    /// <summary>Decay of the first moment.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second moment.</summary>
    public double Beta2 { get; }

    /// <summary>Added to the denominator for stability.</summary>
    public double Epsilon { get; }

    /// <summary>Updates taken so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Applies one update from the parameters' gradients (parameters without a gradient are left alone).</summary>
    public void Step()
    {
        Steps++;
        double correction1 = 1 - Math.Pow(Beta1, Steps), correction2 = 1 - Math.Pow(Beta2, Steps);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using Scalar beta1 = Beta1, oneMinusBeta1 = 1 - Beta1, beta2 = Beta2, oneMinusBeta2 = 1 - Beta2;
        using Scalar sqrtCorrection2 = Math.Sqrt(correction2), epsilon = Epsilon;
        for (int i = 0; i < parameters.Length; i++)
        {
            var grad = parameters[i].grad;
            if (grad is null) continue;
            using Scalar stepSize = -LearningRate * rateScales[i] / correction1;
            firstMoments[i].mul_(beta1).add_(grad, alpha: oneMinusBeta1);
            secondMoments[i].mul_(beta2).addcmul_(grad, grad, value: oneMinusBeta2);
            var denominator = secondMoments[i].sqrt().div_(sqrtCorrection2).PlusInPlace(epsilon);
            parameters[i].addcdiv_(firstMoments[i], denominator, value: stepSize);
        }
    }

    /// <summary>Writes the step count and both moments (for resuming training exactly).</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(Steps);
        writer.Write(parameters.Length);
        foreach (var t in firstMoments.Concat(secondMoments))
        {
            var values = Tensors.ToArray(t);
            writer.Write(values.Length);
            foreach (float v in values) writer.Write(v);
        }
    }

    /// <summary>Restores what <see cref="Save"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The state does not fit these parameters.</exception>
    public void Load(BinaryReader reader)
    {
        long steps = reader.ReadInt64();
        if (reader.ReadInt32() != parameters.Length || steps < 0) throw new InvalidDataException("the optimizer state does not fit the network");
        foreach (var t in firstMoments.Concat(secondMoments))
        {
            int n = reader.ReadInt32();
            if (n != t.numel()) throw new InvalidDataException("the optimizer state does not fit the network");
            var values = new float[n];
            for (int i = 0; i < n; i++) values[i] = reader.ReadSingle();
            using var noGrad = no_grad();
            using var source = Tensors.Wrap(values, t.shape);
            t.copy_(source);
        }
        Steps = steps;
    }

    /// <summary>Frees the moment tensors.</summary>
    public void Dispose()
    {
        foreach (var t in firstMoments.Concat(secondMoments)) t.Dispose();
    }
}
