namespace MusicGen;

/// <summary>
/// Draws a token from logits: divided by the temperature, cut to the top K, softmax, then one draw from the caller's
/// random generator (so that each take has its own stream and batched takes equal takes made one by one).
/// Temperature 0 takes the most likely token.
/// </summary>
public sealed class TokenSampler
{
    private readonly double temperature;
    private readonly int topK;
    private readonly double[] weights;
    private readonly float[] scratch;

    /// <summary>A sampler over <paramref name="tokenCount"/> tokens.</summary>
    public TokenSampler(int tokenCount, double temperature, int topK)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenCount, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(temperature);
        ArgumentOutOfRangeException.ThrowIfNegative(topK);
        this.temperature = temperature;
        this.topK = topK == 0 ? tokenCount : Math.Min(topK, tokenCount);
        weights = new double[tokenCount];
        scratch = new float[tokenCount];
    }

    /// <summary>Draws one token, never <paramref name="excluded"/> (-1: none) when there is another choice.</summary>
    public int Sample(ReadOnlySpan<float> logits, Random random, int excluded = -1)
    {
        if (logits.Length != weights.Length) throw new ArgumentException($"Expected {weights.Length} logits, got {logits.Length}.", nameof(logits));
        if (excluded >= 0 && logits.Length > 1)
        {
            var copy = new float[logits.Length];
            logits.CopyTo(copy);
            copy[excluded] = float.NegativeInfinity;
            return Sample(copy, random);
        }
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        if (temperature == 0) return best;
        double threshold = double.NegativeInfinity;
        if (topK < logits.Length)
        {
            logits.CopyTo(scratch);
            Array.Sort(scratch);
            threshold = scratch[^topK];
        }
        double max = logits[best], sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            weights[i] = logits[i] < threshold ? 0 : Math.Exp((logits[i] - max) / temperature);
            sum += weights[i];
        }
        double r = random.NextDouble() * sum;
        for (int i = 0; i < weights.Length; i++)
        {
            r -= weights[i];
            if (r < 0 && weights[i] > 0) return i;
        }
        return best;
    }
}
