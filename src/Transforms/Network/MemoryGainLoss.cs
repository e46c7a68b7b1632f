namespace MusicGen.Transforms.Network;

/// <summary>
/// A token model's next-token cross-entropy on one excerpt as a function of its in-song memory gains (and, optionally,
/// a shift of each token's bias) alone, with its gradient, in plain loops (<see cref="FrameLstm.MemoryFit"/> builds it;
/// <c>SeedAdaptation</c> minimises it). Every term the gains do not weigh is fixed: for each step t and column k (the
/// excerpt's distinct tokens, then one column standing for all the others) the logit is
/// z = base + shift_k + sum_j cacheGain_j cache_j + successorGain successors + (beatGains . beatMix_t) [k is the previous token],
/// p = softmax(z), and the target y's probability after the periodic copy and the backoff are mixed in is
/// q_y = scale_t p_y + offset_t, both fixed by the gate, the copy proposal and the backoff. The loss is the mean of
/// -log(q_y / total_t), total_t the mixture's sum over all columns (below 1 where the copy proposes nothing, and fixed:
/// the training's cross-entropy renormalises the mixture), or of -log p_y where nothing is mixed in; its gradient with
/// respect to z is (scale_t p_y / q_y)(p - onehot(y)), which the memory terms carry to the gains. A step of the fit is
/// then a few thousand multiply-adds, where the same on LibTorch tensors with autograd cost about 2 ms of call overhead.
/// </summary>
public sealed class MemoryGainLoss
{
    /// <summary>LibTorch's floor on a mixed probability before its log (a saturated gate rounds a proposal to 0).</summary>
    private const double Floor = 1e-30;

    private readonly int steps, columns;
    private readonly float[] logits;
    private readonly float[][] caches;
    private readonly float[]? successors;
    private readonly float[]? beatMix;
    private readonly int[] previous, target;
    private readonly (double Scale, double Offset, double LogTotal)[]? mixture;

    /// <summary>
    /// The excerpt's fixed terms, each [steps, columns] row-major: <paramref name="logits"/> and the memory terms
    /// (<paramref name="caches"/>, one per cache gain, and <paramref name="successors"/> or null), the beat clock's
    /// mix [steps, beat gains] or null, each step's previous token's and target's column, and where a mixture is
    /// applied its scale, offset and log of total per step (null: none).
    /// </summary>
    public MemoryGainLoss(int steps, int columns, float[] logits, float[][] caches, float[]? successors, float[]? beatMix, int beatGains,
        int[] previous, int[] target, (double Scale, double Offset, double LogTotal)[]? mixture, int[]? columnTokens = null)
    {
        if (steps < 1 || columns < 1 || logits.Length != steps * columns || previous.Length != steps || target.Length != steps
            || caches.Any(c => c.Length != steps * columns) || (successors is not null && successors.Length != steps * columns)
            || (beatMix is null ? beatGains != 0 : beatGains < 1 || beatMix.Length != steps * beatGains)
            || (mixture is not null && mixture.Length != steps)
            || previous.Any(k => k < 0 || k >= columns) || target.Any(k => k < 0 || k >= columns))
            throw new ArgumentException("The memory fit's terms do not have the shapes of its steps and columns.");
        this.steps = steps;
        this.columns = columns;
        this.logits = logits;
        this.caches = caches;
        this.successors = successors;
        this.beatMix = beatMix;
        BeatGains = beatGains;
        this.previous = previous;
        this.target = target;
        this.mixture = mixture;
        ColumnTokens = columnTokens ?? [];
    }

    /// <summary>How many beat clock gains come last in the gains (0: none).</summary>
    public int BeatGains { get; }

    /// <summary>Gains in <see cref="FrameLstm.MemoryGains"/>' order: the caches', the successor cache's, the beat clock's.</summary>
    public int GainCount => caches.Length + (successors is null ? 0 : 1) + BeatGains;

    /// <summary>The excerpt's distinct tokens plus one column for all the others.</summary>
    public int Columns => columns;

    /// <summary>The token of each column but the last (which stands for all the others), where known.</summary>
    public IReadOnlyList<int> ColumnTokens { get; }

    /// <summary>
    /// The excerpt's mean cross-entropy (nats) under <paramref name="gains"/>; its gradient is written to
    /// <paramref name="gradient"/>. The gains may go on with a shift of each column's logit (<see cref="Columns"/> more):
    /// a change of the token biases, the others' column shifting every token the excerpt does not play.
    /// </summary>
    public double CrossEntropy(ReadOnlySpan<double> gains, Span<double> gradient)
    {
        bool shifted = gains.Length == GainCount + columns;
        if ((gains.Length != GainCount && !shifted) || gradient.Length != gains.Length)
            throw new ArgumentException($"Give {GainCount} gains (or {GainCount + columns} with the column shifts) and room for as many derivatives.");
        gradient.Clear();
        int cacheCount = caches.Length, successor = successors is null ? -1 : cacheCount, beat = cacheCount + (successors is null ? 0 : 1);
        var z = new double[columns];
        double total = 0;
        for (int t = 0; t < steps; t++)
        {
            int row = t * columns;
            for (int k = 0; k < columns; k++) z[k] = logits[row + k];
            if (shifted)
                for (int k = 0; k < columns; k++) z[k] += gains[GainCount + k];
            for (int j = 0; j < cacheCount; j++)
            {
                var c = caches[j];
                double g = gains[j];
                for (int k = 0; k < columns; k++) z[k] += g * c[row + k];
            }
            if (successors is not null)
                for (int k = 0; k < columns; k++) z[k] += gains[successor] * successors[row + k];
            double pull = 0;
            for (int i = 0; i < BeatGains; i++) pull += gains[beat + i] * beatMix![t * BeatGains + i];
            z[previous[t]] += pull;
            double max = double.NegativeInfinity;
            for (int k = 0; k < columns; k++) max = Math.Max(max, z[k]);
            double sum = 0;
            for (int k = 0; k < columns; k++) sum += z[k] = Math.Exp(z[k] - max); // z now holds exp(z - max)
            for (int k = 0; k < columns; k++) z[k] /= sum;                          // and now p
            int y = target[t];
            double weight; // d loss / d z = weight (p - onehot(y))
            if (mixture is null)
            {
                total -= Math.Log(z[y]);
                weight = 1;
            }
            else
            {
                var (a, e, logTotal) = mixture[t];
                double q = a * z[y] + e;
                total -= Math.Log(Math.Max(q, Floor)) - logTotal;
                weight = q > Floor ? a * z[y] / q : 0;
            }
            if (weight == 0) continue;
            z[y] -= 1; // p - onehot(y)
            for (int j = 0; j < cacheCount; j++) gradient[j] += weight * Dot(z, caches[j], row);
            if (successors is not null) gradient[successor] += weight * Dot(z, successors, row);
            for (int i = 0; i < BeatGains; i++) gradient[beat + i] += weight * z[previous[t]] * beatMix![t * BeatGains + i];
            if (shifted)
                for (int k = 0; k < columns; k++) gradient[GainCount + k] += weight * z[k];
        }
        for (int i = 0; i < gradient.Length; i++) gradient[i] /= steps;
        return total / steps;
    }

    private static double Dot(double[] a, float[] b, int offset)
    {
        double sum = 0;
        for (int k = 0; k < a.Length; k++) sum += a[k] * b[offset + k];
        return sum;
    }
}
