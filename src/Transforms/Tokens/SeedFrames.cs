namespace MusicGen.Transforms.Tokens;

/// <summary>
/// The primed excerpt's own frames, for <see cref="EnvelopeLstm.Continue"/> to move a take's envelope toward. A take's
/// tokens decode to training exemplars, and the envelope network, trained on the training music, soon continues their
/// envelopes as the training music's: a seed by another composer, with its sparse partials, comes out as the training's
/// dense spectra. Where a take frame's token is one the excerpt played, its residual moves by <see cref="Share"/> toward
/// the shape across the bands (at the network's level) of the residual of one of the excerpt's frames with that token:
/// the frame after the one used before where that has the same token (the take is playing the seed's succession, so its
/// envelope goes on as the seed's did), else the one whose residual is nearest the network's prediction. Tokens the
/// excerpt never played keep the prediction.
/// </summary>
public sealed class SeedFrames
{
    private readonly int[] tokens;
    private readonly float[] residuals; // [frames, bands]
    private readonly Dictionary<int, int[]> framesOf = new();

    /// <summary>The excerpt's <paramref name="tokens"/> and their residuals ([frames, bands] row-major, see <see cref="EnvelopeLstm.Residuals(ReadOnlySpan{float}, IReadOnlyList{int})"/>).</summary>
    public SeedFrames(IReadOnlyList<int> tokens, float[] residuals, double share)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(residuals);
        if (tokens.Count == 0 || residuals.Length % tokens.Count != 0)
            throw new ArgumentException($"{residuals.Length} residual values do not divide into {tokens.Count} frames.", nameof(residuals));
        if (!(share >= 0 && share <= 1)) throw new ArgumentOutOfRangeException(nameof(share), share, "The share is between 0 and 1.");
        this.tokens = tokens.ToArray();
        this.residuals = residuals;
        Bands = residuals.Length / tokens.Count;
        Share = (float)share;
        foreach (var group in Enumerable.Range(0, this.tokens.Length).GroupBy(t => this.tokens[t]))
            framesOf[group.Key] = group.ToArray();
    }

    /// <summary>The excerpt's tokens, a frame each.</summary>
    internal int[] Tokens => tokens;

    /// <summary>Bands of each residual.</summary>
    public int Bands { get; }

    /// <summary>How far a take frame's residual moves toward the seed frame's (0: none, 1: all the way).</summary>
    public float Share { get; }

    /// <summary>
    /// The excerpt's frame a take frame with <paramref name="token"/> follows, given the one the frame before followed
    /// (<paramref name="previous"/>, -1 for none) and the network's prediction; -1 where the excerpt never played it.
    /// </summary>
    internal int Choose(int previous, int token, ReadOnlySpan<float> predicted)
    {
        if (previous >= 0 && previous + 1 < tokens.Length && tokens[previous + 1] == token) return previous + 1;
        if (!framesOf.TryGetValue(token, out var frames)) return -1;
        int chosen = -1;
        double nearest = double.PositiveInfinity;
        foreach (int frame in frames)
        {
            double distance = 0;
            var residual = residuals.AsSpan(frame * Bands, Bands);
            for (int b = 0; b < Bands; b++)
            {
                double d = residual[b] - predicted[b];
                distance += d * d;
            }
            if (distance < nearest) (nearest, chosen) = (distance, frame);
        }
        return chosen;
    }

    /// <summary>
    /// Moves <paramref name="predicted"/> by <see cref="Share"/> toward <paramref name="frame"/>'s residual shifted to the
    /// prediction's mean: the seed frame's shape across the bands at the network's level. With the seed frame's own
    /// level, a take from a seed much quieter or louder than the training music jumped between the followed frames'
    /// level and the others'.
    /// </summary>
    internal void Mix(int frame, Span<float> predicted)
    {
        var residual = residuals.AsSpan(frame * Bands, Bands);
        float shift = 0;
        for (int b = 0; b < Bands; b++) shift += predicted[b] - residual[b];
        shift /= Bands;
        for (int b = 0; b < Bands; b++) predicted[b] += Share * (residual[b] + shift - predicted[b]);
    }
}
