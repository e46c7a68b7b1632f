using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Transforms.Spectral;

/// <summary>
/// Carries a seed's groove, the way its level rises and falls within each beat or bar, into generated log-magnitude
/// frames. The seed's broadband level per frame, less its running mean over about a second, is folded at every
/// candidate period (fractional, in frames) into <see cref="PhaseBins"/> phase bins; the period whose mean pattern
/// explains most of that movement is the groove, and each take frame gets the pattern's value at the phase it would
/// have had, had the seed gone on (times a strength, bounded either way). A seed with no steady level pattern folds to
/// a pattern near zero at every period, and the take is left nearly as it was; a pluck every quarter second leaves the
/// take its attacks and its silences between.
/// </summary>
public static class GrooveMatch
{
    /// <summary>Phase bins of the pattern over one period.</summary>
    public const int PhaseBins = 16;

    /// <summary>Frames of the running mean the level's movement is measured against (about 1 s at hop 512 and 22050 Hz).</summary>
    public const int Smoothing = DynamicsMatch.Smoothing;

    /// <summary>The largest gain, either way, in log-magnitude units (natural log; 3 is about 26 dB).</summary>
    public const float Bound = 3;

    /// <summary>
    /// A seed's groove: its period in frames, the mean level (less the running mean, log-magnitude units) in each phase
    /// bin from the seed's first frame, and the share of the seed's level movement that pattern explains.
    /// </summary>
    public sealed record Groove(double Period, float[] Pattern, double Explained, int SeedFrames);

    /// <summary>Each frame's broadband level: half the natural log of its mean power ([frames, bins] row-major in).</summary>
    public static double[] Levels(ReadOnlySpan<float> frames, int bins)
    {
        int count = frames.Length / bins;
        var levels = new double[count];
        var power = new float[bins];
        for (int t = 0; t < count; t++)
        {
            TensorPrimitives.Multiply(frames.Slice(t * bins, bins), 2f, power);
            TensorPrimitives.Exp(power, power);
            levels[t] = 0.5 * Math.Log((1e-10 + TensorPrimitives.Sum(power)) / bins);
        }
        return levels;
    }

    /// <summary>
    /// The groove of <paramref name="seed"/> at periods of <paramref name="shortest"/> to <paramref name="longest"/>
    /// frames (searched in steps of 0.05 frames); null when the seed has fewer than three of the longest periods'
    /// frames or no level movement.
    /// </summary>
    public static Groove? Find(ReadOnlySpan<float> seed, int bins, double shortest, double longest)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shortest, 2.0);
        ArgumentOutOfRangeException.ThrowIfLessThan(longest, shortest);
        var levels = Levels(seed, bins);
        int n = levels.Length;
        if (n < 3 * longest) return null;
        var slow = DynamicsMatch.RunningMean(levels, Smoothing);
        var moving = new double[n];
        for (int t = 0; t < n; t++) moving[t] = levels[t] - slow[t];
        double total = moving.Sum(v => v * v);
        if (total < 1e-9) return null;
        var sums = new double[PhaseBins];
        var counts = new int[PhaseBins];
        var scores = new List<(double Period, double Explained)>();
        for (double period = shortest; period <= longest + 1e-9; period += 0.05)
        {
            Fold(moving, period, sums, counts);
            double explained = 0;
            for (int b = 0; b < PhaseBins; b++)
                if (counts[b] > 0) explained += sums[b] * sums[b] / counts[b];
            scores.Add((period, explained / total));
        }
        // A pattern folds as well at twice its period: the shortest period within 5% of the best is the groove's.
        double best = scores.Max(s => s.Explained);
        var chosen = scores.First(s => s.Explained >= 0.95 * best);
        Fold(moving, chosen.Period, sums, counts);
        var pattern = new float[PhaseBins];
        for (int b = 0; b < PhaseBins; b++) pattern[b] = counts[b] > 0 ? (float)(sums[b] / counts[b]) : 0;
        return new Groove(chosen.Period, pattern, chosen.Explained, n);
    }

    /// <summary>
    /// Adds the groove to <paramref name="take"/> ([frames, bins] row-major, the frames that follow the seed's) in place:
    /// frame t gets <paramref name="strength"/> times the pattern at the phase of seed frame SeedFrames + t, linearly
    /// interpolated between bins, on every bin.
    /// </summary>
    public static void Apply(Groove groove, Span<float> take, int bins, double strength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(strength);
        if (strength == 0) return;
        int count = take.Length / bins;
        for (int t = 0; t < count; t++)
        {
            float gain = (float)Math.Clamp(strength * At(groove, groove.SeedFrames + t), -Bound, Bound);
            foreach (ref float v in take.Slice(t * bins, bins)) v += gain;
        }
    }

    /// <summary>The pattern's value at seed frame <paramref name="frame"/> (phase bins centred, circular interpolation).</summary>
    public static double At(Groove groove, double frame)
    {
        double position = frame / groove.Period % 1 * PhaseBins - 0.5;
        if (position < 0) position += PhaseBins;
        int low = (int)position % PhaseBins, high = (low + 1) % PhaseBins;
        double w = position - Math.Floor(position);
        return (1 - w) * groove.Pattern[low] + w * groove.Pattern[high];
    }

    private static void Fold(double[] values, double period, double[] sums, int[] counts)
    {
        Array.Clear(sums);
        Array.Clear(counts);
        for (int t = 0; t < values.Length; t++)
        {
            int b = (int)(t / period % 1 * PhaseBins);
            sums[b] += values[t];
            counts[b]++;
        }
    }
}
