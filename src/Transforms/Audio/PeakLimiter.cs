using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

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
        if (length == 0 || channels.All(c => Math.Abs(TensorPrimitives.MaxMagnitude(c)) <= Ceiling)) return 1; // MaxMagnitude keeps the sign
        // The gain each sample needs on its own (held below in place: one array of the audio's length).
        var held = new float[length];
        for (int n = 0; n < length; n++)
        {
            float peak = 0;
            foreach (var c in channels) peak = Math.Max(peak, Math.Abs(c[n]));
            held[n] = peak > Ceiling ? Ceiling / peak : 1;
        }
        int half = Math.Max(1, (int)Math.Round(AttackSeconds * sampleRate / 2));
        // The lowest need within half the attack on either side, then its mean over the attack centred on each sample:
        // every value averaged at n is a minimum over a window that holds n, so the smooth gain never exceeds n's own
        // need, and it starts to fall one attack before a peak.
        SlidingMinimumInPlace(held, half);
        // Recovery toward 1 no faster than the release allows, never above the smooth gain.
        double recovery = 1 - Math.Exp(-1.0 / (ReleaseSeconds * sampleRate));
        double window = 0; // the sum of held[n - half .. n + half], cut at the ends
        for (int n = 0; n < Math.Min(half, length); n++) window += held[n];
        float gain = 1, lowest = 1;
        for (int n = 0; n < length; n++)
        {
            if (n + half < length) window += held[n + half];
            if (n - half - 1 >= 0) window -= held[n - half - 1];
            float smooth = (float)(window / (Math.Min(length, n + half + 1) - Math.Max(0, n - half)));
            gain = Math.Min(smooth, (float)(gain + (1 - gain) * recovery));
            if (gain > 0.9999f && smooth > 0.9999f) gain = 1; // recovered (within 0.001 dB): the rest passes unchanged
            lowest = Math.Min(lowest, gain);
            foreach (var c in channels)
                c[n] = Math.Clamp(c[n] * gain, -Ceiling, Ceiling); // the clamp catches rounding and the last 0.001 dB
        }
        return lowest;
    }

    // Each value becomes the minimum of the values n - reach .. n + reach (a monotone queue of the window's
    // candidates, each with its value, so the array can be overwritten behind it: linear time, no second array).
    internal static void SlidingMinimumInPlace(float[] values, int reach)
    {
        int capacity = 2 * reach + 2;
        var indices = new int[capacity];
        var minima = new float[capacity];
        int head = 0, count = 0, next = 0;
        for (int n = 0; n < values.Length; n++)
        {
            for (; next < values.Length && next <= n + reach; next++)
            {
                float v = values[next]; // not yet overwritten: only positions before n are
                while (count > 0 && minima[(head + count - 1) % capacity] >= v) count--;
                indices[(head + count) % capacity] = next;
                minima[(head + count) % capacity] = v;
                count++;
            }
            while (indices[head] < n - reach) { head = (head + 1) % capacity; count--; }
            values[n] = minima[head];
        }
    }
}
