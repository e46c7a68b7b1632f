using MusicGen.Transforms.Tokens;

namespace MusicGen.Estimators.Training;

/// <summary>Sums for one epoch's validation figures; the baselines need the training data's statistics, known at the epoch's end.</summary>
internal interface IValidationTotals
{
    /// <summary>Counts training inputs ([T, B, D] time-major).</summary>
    void AddTraining(ReadOnlySpan<float> inputs, int streams);

    /// <summary>Adds held-out steps: the network's mean loss over them, their inputs and their targets.</summary>
    void Add(long count, double lossMean, float[] inputs, float[] targets);

    ValidationReport? Report();
}

/// <summary>Frame model: MSE of the network, of repeating the input frame, and of the training frames' mean.</summary>
internal sealed class FrameValidationTotals(int dim) : IValidationTotals
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
        return new ValidationReport(heldFrames, loss / heldFrames, repeat / heldFrames, meanError / ((double)heldFrames * dim), LossKind.MeanSquaredError);
    }
}

/// <summary>
/// Token model, in cross-entropy (nats per token): the network, and the two baselines of <see cref="RepeatOrUnigram"/>
/// with the training streams' token counts and repeat rate (<see cref="TokenScores"/>).
/// </summary>
internal sealed class TokenValidationTotals(int tokenCount) : IValidationTotals
{
    private readonly long[] counts = new long[tokenCount];
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
        var scores = new TokenScores(new RepeatOrUnigram(counts, pairs == 0 ? 0 : (double)repeats / pairs));
        foreach (var (previous, next) in held) scores.AddStep(previous, next);
        return new ValidationReport(held.Count, loss / held.Count, scores.RepeatPrevious / held.Count, scores.Unigram / held.Count, LossKind.CrossEntropy);
    }
}
