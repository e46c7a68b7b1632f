namespace MusicGen.Transforms.Tokens;

/// <summary>
/// Next-token cross-entropy (nats) summed over scored steps, for a model and for both baselines of
/// <see cref="RepeatOrUnigram"/>: the one routine behind validation while training and the evaluation's next-token
/// ratios.
/// </summary>
public sealed class TokenScores(RepeatOrUnigram baseline)
{
    /// <summary>Steps scored.</summary>
    public long Steps { get; private set; }

    /// <summary>Summed cross-entropy of the model (what <see cref="AddLogits"/> and <see cref="AddModel"/> added).</summary>
    public double Model { get; private set; }

    /// <summary>Summed cross-entropy of "repeat the previous token" (r [same token] + (1 - r) unigram).</summary>
    public double RepeatPrevious { get; private set; }

    /// <summary>Summed cross-entropy of the unigram frequencies.</summary>
    public double Unigram { get; private set; }

    /// <summary>Scores both baselines on the step from <paramref name="previous"/> to <paramref name="next"/>.</summary>
    public void AddStep(int previous, int next)
    {
        RepeatPrevious -= Math.Log(baseline.Probability(previous, next));
        Unigram -= Math.Log(baseline.Unigram(next));
        Steps++;
    }

    /// <summary>Scores one step: the model's logits for it (softmax in double precision) and both baselines.</summary>
    public void AddLogits(ReadOnlySpan<float> logits, int previous, int next)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (var v in logits) max = Math.Max(max, v);
        foreach (var v in logits) sum += Math.Exp(v - max);
        Model -= logits[next] - max - Math.Log(sum);
        AddStep(previous, next);
    }

    /// <summary>Adds the model's cross-entropy summed over steps scored with <see cref="AddStep"/>.</summary>
    public void AddModel(double crossEntropySum) => Model += crossEntropySum;
}
