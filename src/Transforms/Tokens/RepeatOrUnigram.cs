namespace MusicGen.Transforms.Tokens;

/// <summary>
/// The two baselines a next-token model must beat, from training token counts: the unigram frequencies (add-one
/// smoothed), and "repeat the previous token" as a distribution: the same token with the training repeat rate r,
/// otherwise the unigram frequencies.
/// </summary>
/// <param name="Frequencies">Training frames of each token.</param>
/// <param name="RepeatRate">Share of consecutive training frames with the same token.</param>
public sealed record RepeatOrUnigram(IReadOnlyList<long> Frequencies, double RepeatRate)
{
    private readonly double total = Frequencies.Sum() + (double)Frequencies.Count;

    /// <summary>Unigram probability of <paramref name="token"/>: (count + 1) / (frames + tokens).</summary>
    public double Unigram(int token) => (Frequencies[token] + 1.0) / total;

    /// <summary>Probability of <paramref name="next"/> after <paramref name="previous"/>: r [same token] + (1 - r) unigram.</summary>
    public double Probability(int previous, int next) => (previous == next ? RepeatRate : 0) + (1 - RepeatRate) * Unigram(next);
}
