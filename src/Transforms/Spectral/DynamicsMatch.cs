namespace MusicGen.Transforms.Spectral;

/// <summary>
/// Brings how far generated log-magnitude frames rise and fall in level from second to second toward a seed's. Each
/// frame's power (<see cref="GrooveMatch.Levels"/>) is averaged over about a second (<see cref="Smoothing"/> frames), and
/// half the log of that running mean is the slow level: the level a second of audio is heard at, which its loud frames
/// dominate as they dominate its RMS (a running mean of log levels reads a second of one-frame bursts over silence as
/// far quieter). The standard deviation of the slow level over the seed's frames, over the same of the take's, raised
/// to a strength, is the factor the take's slow movement about its mean level is scaled by (bounded at
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
    public static double SlowMovement(ReadOnlySpan<float> frames, int bins) => StandardDeviation(SlowLevel(frames, bins));

    /// <summary>
    /// How far a song's level moves within a take's length: the median standard deviation of the slow level of its
    /// frame <paramref name="levels"/> (<see cref="GrooveMatch.Levels"/>, or <see cref="LevelReader"/>'s) over windows of
    /// <paramref name="windowFrames"/> frames a quarter window apart (the whole song when it is no longer than one).
    /// A longer stretch of music has more room to swell and drop, and a song's opening is often steadier than what
    /// follows; a take's movement is aimed at its song's over stretches as long as the take.
    /// </summary>
    public static double TypicalMovement(double[] levels, int windowFrames)
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowFrames);
        if (levels.Length <= windowFrames) return StandardDeviation(SlowLevel(levels));
        var movements = new List<double>();
        for (int from = 0; from + windowFrames <= levels.Length; from += Math.Max(1, windowFrames / 4))
            movements.Add(StandardDeviation(SlowLevel(levels[from..(from + windowFrames)])));
        movements.Sort();
        return movements[movements.Count / 2];
    }

    /// <summary>Half the log of each frame's power averaged over <see cref="Smoothing"/> frames: the level a second is heard at.</summary>
    internal static double[] SlowLevel(double[] levels)
    {
        var power = RunningMean(levels.Select(level => Math.Exp(2 * level)).ToArray(), Smoothing);
        return power.Select(p => 0.5 * Math.Log(p)).ToArray();
    }

    private static double[] SlowLevel(ReadOnlySpan<float> frames, int bins) => SlowLevel(GrooveMatch.Levels(frames, bins));

    /// <summary>
    /// Each frame's level straight from a song's samples, block by block as a decoder hands them over
    /// (<see cref="Audio.AudioFile.ReadBlocks"/>): half the log of the mean square of the channels' mix over each hop of
    /// <see cref="HopSeconds"/> at the song's own rate, as the RMS level that quality.md's loudness movement reads. It
    /// is <see cref="GrooveMatch.Levels"/> of the song's log-magnitude frames up to a constant (Parseval), but for the
    /// window and the spectrum's lowest bins, which weigh sub-bass less: on hyperrogue-music's seeds a take-length
    /// <see cref="TypicalMovement"/> from these levels is within 1% of the frames', on two songs heavy in sub-bass 20%
    /// lower (docs/evaluation.md). A whole song is read in constant memory, without resampling or a spectrum.
    /// </summary>
    public sealed class LevelReader(double hopSeconds)
    {
        private readonly List<double> levels = [];
        private double sum, boundary;
        private long seen, inHop;

        /// <summary>The hop, in seconds, of the frames whose levels are read.</summary>
        public double HopSeconds { get; } = hopSeconds > 0 ? hopSeconds : throw new ArgumentOutOfRangeException(nameof(hopSeconds));

        /// <summary>Takes the next <paramref name="frames"/> samples of each channel of <paramref name="block"/>, at <paramref name="rate"/> Hz.</summary>
        public void Add(float[][] block, int frames, int rate)
        {
            double hop = HopSeconds * rate;
            if (seen == 0) boundary = hop;
            for (int i = 0; i < frames; i++)
            {
                double mix = 0;
                foreach (var channel in block) mix += channel[i];
                mix /= block.Length;
                sum += mix * mix;
                inHop++;
                if (++seen >= boundary)
                {
                    levels.Add(0.5 * Math.Log(1e-10 + sum / inHop));
                    sum = 0;
                    inHop = 0;
                    boundary += hop;
                }
            }
        }

        /// <summary>Forgets everything read (a decoder starting over).</summary>
        public void Restart()
        {
            levels.Clear();
            sum = boundary = 0;
            seen = inHop = 0;
        }

        /// <summary>The levels of the whole hops read so far.</summary>
        public double[] Levels() => [.. levels];
    }

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
        var slow = SlowLevel(take, bins);
        double movement = StandardDeviation(slow);
        if (strength == 0 || movement < 1e-6 || seedMovement < 1e-6) return 1;
        double factor = Math.Clamp(Math.Pow(seedMovement / movement, strength), 1 / LargestFactor, LargestFactor);
        double target = factor * movement;
        for (int pass = 0; pass < Passes; pass++)
        {
            if (pass > 0) slow = SlowLevel(take, bins);
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
