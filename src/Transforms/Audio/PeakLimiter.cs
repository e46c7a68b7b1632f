namespace MusicGen.Transforms.Audio;

/// <summary>
/// Keeps audio under a ceiling without clipping it: a look-ahead peak limiter. Where a sample (the loudest channel's)
/// would pass the ceiling, the gain of every channel falls smoothly over <see cref="AttackSeconds"/> before it and
/// recovers over about <see cref="ReleaseSeconds"/> after it; audio that stays under the ceiling is returned unchanged.
/// Takes and reconstructions are rendered through it, so what is measured is what a 16-bit file holds: before it, a
/// take whose level rose above its seed's was written clipped (docs/design.md, end of "Phase").
/// </summary>
public static class PeakLimiter
{
    /// <summary>The highest magnitude a limited sample reaches: 0.98, about -0.2 dB below full scale.</summary>
    public const float Ceiling = 0.98f;

    /// <summary>How long before a peak the gain starts to fall.</summary>
    public const double AttackSeconds = 0.005;

    /// <summary>The time constant of the gain's recovery after a peak.</summary>
    public const double ReleaseSeconds = 0.1;

    /// <summary>
    /// Limits <paramref name="channels"/> (planar, equal lengths) in place; returns the lowest gain applied (1: the audio
    /// was under the ceiling and is unchanged).
    /// </summary>
    public static float Limit(float[][] channels, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        if (channels.Length == 0) return 1;
        int length = channels[0].Length;
        if (channels.Any(c => c.Length != length)) throw new ArgumentException("All channels must have the same length.", nameof(channels));
        // The gain each sample needs on its own.
        var needed = new float[length];
        bool over = false;
        for (int n = 0; n < length; n++)
        {
            float peak = 0;
            foreach (var c in channels) peak = Math.Max(peak, Math.Abs(c[n]));
            needed[n] = peak > Ceiling ? Ceiling / peak : 1;
            over |= peak > Ceiling;
        }
        if (!over) return 1;
        int half = Math.Max(1, (int)Math.Round(AttackSeconds * sampleRate / 2));
        // The lowest need within half the attack on either side, then its mean over the attack centred on each sample:
        // every value averaged at n is a minimum over a window that holds n, so the smooth gain never exceeds n's own
        // need, and it starts to fall one attack before a peak.
        var held = SlidingMinimum(needed, half);
        var smooth = CentredMean(held, half);
        // Recovery toward 1 no faster than the release allows, never above the smooth gain.
        double recovery = 1 - Math.Exp(-1.0 / (ReleaseSeconds * sampleRate));
        float gain = 1, lowest = 1;
        for (int n = 0; n < length; n++)
        {
            gain = Math.Min(smooth[n], (float)(gain + (1 - gain) * recovery));
            if (gain > 0.9999f && smooth[n] == 1) gain = 1; // recovered (within 0.001 dB): the rest passes unchanged
            lowest = Math.Min(lowest, gain);
            foreach (var c in channels)
                c[n] = Math.Clamp(c[n] * gain, -Ceiling, Ceiling); // the clamp only catches rounding
        }
        return lowest;
    }

    // The minimum of values[n - reach .. n + reach] for each n (a monotone queue: linear time).
    internal static float[] SlidingMinimum(float[] values, int reach)
    {
        var result = new float[values.Length];
        var queue = new int[values.Length];
        int head = 0, tail = 0, next = 0;
        for (int n = 0; n < values.Length; n++)
        {
            for (; next < values.Length && next <= n + reach; next++)
            {
                while (tail > head && values[queue[tail - 1]] >= values[next]) tail--;
                queue[tail++] = next;
            }
            while (queue[head] < n - reach) head++;
            result[n] = values[queue[head]];
        }
        return result;
    }

    // The mean of values[n - half .. n + half] for each n, the window cut at the ends.
    private static float[] CentredMean(float[] values, int half)
    {
        var prefix = new double[values.Length + 1];
        for (int n = 0; n < values.Length; n++) prefix[n + 1] = prefix[n] + values[n];
        var result = new float[values.Length];
        for (int n = 0; n < values.Length; n++)
        {
            int from = Math.Max(0, n - half), to = Math.Min(values.Length, n + half + 1);
            result[n] = (float)((prefix[to] - prefix[from]) / (to - from));
        }
        return result;
    }
}
