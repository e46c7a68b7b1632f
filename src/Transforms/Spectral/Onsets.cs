namespace MusicGen.Transforms.Spectral;

/// <summary>
/// Onset envelopes and their periodicity: how strongly, and at what period, a sequence of spectral frames pulses.
/// </summary>
public static class Onsets
{
    /// <summary>
    /// The onset envelope of log-spectral frames ([frames, size] row-major): per frame from the second, the mean over
    /// values of the half-wave rectified rise from the frame before.
    /// </summary>
    public static double[] Envelope(ReadOnlySpan<float> frames, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        int count = frames.Length / size;
        var envelope = new double[Math.Max(0, count - 1)];
        for (int t = 1; t < count; t++)
        {
            var now = frames.Slice(t * size, size);
            var before = frames.Slice((t - 1) * size, size);
            double sum = 0;
            for (int b = 0; b < size; b++) sum += Math.Max(0, now[b] - before[b]);
            envelope[t - 1] = sum / size;
        }
        return envelope;
    }

    /// <summary>
    /// The strongest period of <paramref name="envelope"/> between <paramref name="shortest"/> and
    /// <paramref name="longest"/> steps: its mean removed, the lag with the highest autocorrelation, and that
    /// autocorrelation over the one at lag 0 (0 for a flat envelope or one too short for the shortest lag).
    /// </summary>
    public static (int Period, double Strength) StrongestPeriod(ReadOnlySpan<double> envelope, int shortest, int longest)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shortest, 1);
        int n = envelope.Length;
        if (n <= shortest) return (shortest, 0);
        double mean = 0;
        foreach (var v in envelope) mean += v;
        mean /= n;
        var x = new double[n];
        double zero = 0;
        for (int i = 0; i < n; i++)
        {
            x[i] = envelope[i] - mean;
            zero += x[i] * x[i];
        }
        (int Period, double Strength) best = (shortest, 0);
        if (zero <= 0) return best;
        for (int lag = shortest; lag <= Math.Min(longest, n - 1); lag++)
        {
            double sum = 0;
            for (int i = 0; i + lag < n; i++) sum += x[i] * x[i + lag];
            if (sum / zero > best.Strength) best = (lag, sum / zero);
        }
        return best;
    }
}
