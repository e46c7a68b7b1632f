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
    /// <paramref name="take"/>'s mean band energies ([frames, bins] row-major) toward <paramref name="seedMeans"/>
    /// (a seed's <see cref="MeanEnergies"/>).
    /// </summary>
    public static float[] Gains(MelEnvelope bands, double[] seedMeans, ReadOnlySpan<float> take, double strength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(strength);
        var takeMeans = MeanEnergies(bands, take);
        var gains = new float[bands.Bands];
        for (int b = 0; b < gains.Length; b++)
            gains[b] = (float)Math.Clamp(strength * (seedMeans[b] - takeMeans[b]), -Bound, Bound);
        return gains;
    }

    /// <summary>Adds <see cref="Gains"/> to every frame of <paramref name="take"/> in place.</summary>
    public static void Apply(MelEnvelope bands, double[] seedMeans, Span<float> take, double strength)
    {
        if (strength == 0) return;
        var gains = Gains(bands, seedMeans, take, strength);
        for (int t = 0; t + bands.Bins <= take.Length; t += bands.Bins) bands.Shape(take.Slice(t, bands.Bins), gains);
    }

    /// <summary>The mean over frames ([frames, bins] row-major, at least one) of each band's log energy.</summary>
    public static double[] MeanEnergies(MelEnvelope bands, ReadOnlySpan<float> frames)
    {
        int count = frames.Length / bands.Bins;
        if (count == 0) throw new ArgumentException("No whole frame.", nameof(frames));
        var energies = bands.Energies(frames[..(count * bands.Bins)]);
        var mean = new double[bands.Bands];
        for (int t = 0; t < count; t++)
            for (int b = 0; b < mean.Length; b++) mean[b] += energies[t * bands.Bands + b];
        for (int b = 0; b < mean.Length; b++) mean[b] /= count;
        return mean;
    }
}
