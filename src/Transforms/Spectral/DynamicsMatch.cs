namespace MusicGen.Transforms.Spectral;

/// <summary>
/// Brings how far generated log-magnitude frames rise and fall in level from second to second toward a seed's. Each
/// frame's broadband level (<see cref="GrooveMatch.Levels"/>) is smoothed over about a second (<see cref="Smoothing"/>
/// frames); the standard deviation of that slow level over the seed's frames, over the same of the take's, raised to a
/// strength, is the factor the take's slow movement about its mean level is scaled by (bounded at
/// <see cref="LargestFactor"/> either way), each frame's change added to every bin. Movement within a second (notes,
/// attacks, a beat) is left as it was, and so is the take's mean level: only its swells and drops are narrowed or widened.
/// </summary>
public static class DynamicsMatch
{
    /// <summary>Frames of the running mean that gives the slow level (about 1 s at hop 512 and 22050 Hz).</summary>
    public const int Smoothing = 43;

    /// <summary>The largest factor a take's slow movement is scaled by, and the inverse of the smallest.</summary>
    public const double LargestFactor = 4;

    /// <summary>The mean of each value and its neighbours within <paramref name="width"/>/2 either side (fewer at the ends).</summary>
    public static double[] RunningMean(double[] values, int width)
    {
        int n = values.Length, half = width / 2;
        var prefix = new double[n + 1];
        for (int t = 0; t < n; t++) prefix[t + 1] = prefix[t] + values[t];
        var mean = new double[n];
        for (int t = 0; t < n; t++)
        {
            int from = Math.Max(0, t - half), to = Math.Min(n, t + half + 1);
            mean[t] = (prefix[to] - prefix[from]) / (to - from);
        }
        return mean;
    }

    /// <summary>The largest shift <see cref="MatchLevel"/> adds to a take's log magnitudes, either way (2: about 17 dB).</summary>
    public const float LevelBound = 2;

    /// <summary>
    /// The natural log of the mean frame power (per bin) of log-magnitude frames ([frames, bins] row-major), from each
    /// frame's <see cref="GrooveMatch.Levels"/>: the level loud frames dominate, as they do the audio's RMS (a mean of log
    /// energies does not see them); negative infinity with no frame.
    /// </summary>
    public static double PowerLevel(ReadOnlySpan<float> frames, int bins)
    {
        var levels = GrooveMatch.Levels(frames, bins); // half the log of each frame's mean power
        return levels.Length == 0 ? double.NegativeInfinity : Math.Log(levels.Average(level => Math.Exp(2 * level)));
    }

    /// <summary>
    /// Shifts every value of <paramref name="take"/> ([frames, bins] log magnitudes, in place) so that its
    /// <see cref="PowerLevel"/> moves <paramref name="strength"/> of the way to <paramref name="seedLevel"/> (the shift
    /// bounded at <see cref="LevelBound"/>); returns the shift added.
    /// </summary>
    public static float MatchLevel(double seedLevel, Span<float> take, int bins, double strength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(strength);
        if (strength == 0) return 0;
        double level = PowerLevel(take, bins);
        if (double.IsInfinity(level) || double.IsInfinity(seedLevel)) return 0;
        float shift = (float)Math.Clamp(strength * (seedLevel - level) / 2, -LevelBound, LevelBound); // power is magnitude squared
        foreach (ref float v in take) v += shift;
        return shift;
    }

    /// <summary>The standard deviation of the slow level of frames ([frames, bins] row-major); 0 with no frame.</summary>
    public static double SlowMovement(ReadOnlySpan<float> frames, int bins) => StandardDeviation(RunningMean(GrooveMatch.Levels(frames, bins), Smoothing));

    /// <summary>
    /// Passes of <see cref="Apply"/>: the slow level of a scaled take is smoothed again when measured, which leaves part
    /// of the change undone (a third of it for a 4 s swell scaled by a quarter); each pass measures the take again and
    /// scales by what is left.
    /// </summary>
    public const int Passes = 3;

    /// <summary>
    /// Scales <paramref name="take"/>'s slow level movement ([frames, bins] row-major, in place) toward
    /// <paramref name="seedMovement"/>: to (seed's / its own <see cref="SlowMovement"/>) ^ <paramref name="strength"/>
    /// times what it was, that factor bounded at <see cref="LargestFactor"/> either way, and returns the factor aimed at
    /// (1: left as it was).
    /// </summary>
    public static double Apply(double seedMovement, Span<float> take, int bins, double strength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(strength);
        ArgumentOutOfRangeException.ThrowIfNegative(seedMovement);
        var slow = RunningMean(GrooveMatch.Levels(take, bins), Smoothing);
        double movement = StandardDeviation(slow);
        if (strength == 0 || movement < 1e-6 || seedMovement < 1e-6) return 1;
        double factor = Math.Clamp(Math.Pow(seedMovement / movement, strength), 1 / LargestFactor, LargestFactor);
        double target = factor * movement;
        for (int pass = 0; pass < Passes; pass++)
        {
            if (pass > 0) slow = RunningMean(GrooveMatch.Levels(take, bins), Smoothing);
            double now = StandardDeviation(slow), mean = slow.Average();
            if (now < 1e-6) break;
            for (int t = 0; t < slow.Length; t++)
            {
                float gain = (float)((target / now - 1) * (slow[t] - mean));
                foreach (ref float v in take.Slice(t * bins, bins)) v += gain;
            }
        }
        return factor;
    }

    private static double StandardDeviation(double[] values)
    {
        if (values.Length == 0) return 0;
        double mean = values.Average();
        return Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
    }
}
