namespace MusicGen.Transforms.Spectral;

/// <summary>
/// Brings the long-term spectral balance of generated log-magnitude frames toward a seed's: the mean log energy of each
/// of a few broad mel bands over the seed's frames, less the same over the take's, is added to every take frame
/// (times a strength, bounded either way), spread over the bins by the bands' triangular filters. Broad bands carry the
/// seed's tone colour and level, not its notes: a take keeps its own notes and changes, heard through the seed's
/// mix. Means are of log energies, so the silences of a sparse seed lower its mean as they lower what is heard.
/// </summary>
public static class TimbreMatch
{
    /// <summary>
    /// Broad mel bands the balance is matched on: at 22050 Hz their centres lie 100-170 Hz apart below 1 kHz and about a
    /// sixth of an octave apart above 2 kHz, each filter spanning two spacings.
    /// </summary>
    public const int Bands = 32;

    /// <summary>The largest correction, either way, in log-magnitude units (natural log; 2 is about 17 dB).</summary>
    public const float Bound = 2;

    /// <summary>
    /// Per-band corrections (log-magnitude units, <see cref="MelEnvelope.Bands"/> values) that take
    /// <paramref name="take"/>'s mean band energies toward <paramref name="seed"/>'s ([frames, bins] row-major, both).
    /// </summary>
    public static float[] Gains(MelEnvelope bands, ReadOnlySpan<float> seed, ReadOnlySpan<float> take, double strength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(strength);
        if (seed.Length < bands.Bins || take.Length < bands.Bins) throw new ArgumentException("Both the seed and the take need a frame.");
        var seedMean = MeanEnergies(bands, seed);
        var takeMean = MeanEnergies(bands, take);
        var gains = new float[bands.Bands];
        for (int b = 0; b < gains.Length; b++)
            gains[b] = (float)Math.Clamp(strength * (seedMean[b] - takeMean[b]), -Bound, Bound);
        return gains;
    }

    /// <summary>Adds <see cref="Gains"/> to every frame of <paramref name="take"/> in place.</summary>
    public static void Apply(MelEnvelope bands, ReadOnlySpan<float> seed, Span<float> take, double strength)
    {
        if (strength == 0) return;
        var gains = Gains(bands, seed, take, strength);
        for (int t = 0; t + bands.Bins <= take.Length; t += bands.Bins) bands.Shape(take.Slice(t, bands.Bins), gains);
    }

    private static double[] MeanEnergies(MelEnvelope bands, ReadOnlySpan<float> frames)
    {
        int count = frames.Length / bands.Bins;
        var energies = bands.Energies(frames[..(count * bands.Bins)]);
        var mean = new double[bands.Bands];
        for (int t = 0; t < count; t++)
            for (int b = 0; b < mean.Length; b++) mean[b] += energies[t * bands.Bands + b];
        for (int b = 0; b < mean.Length; b++) mean[b] /= count;
        return mean;
    }
}
