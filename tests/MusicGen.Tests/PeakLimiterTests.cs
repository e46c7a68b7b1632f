using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

public class PeakLimiterTests
{
    private const int Rate = 22050;

    private static float[] Sine(double amplitude, double seconds, double frequency = 220) =>
        Enumerable.Range(0, (int)(Rate * seconds)).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * frequency * i / Rate))).ToArray();

    [Fact]
    public void Audio_under_the_ceiling_is_unchanged()
    {
        var left = Sine(0.97, 1);
        var right = Sine(0.5, 1, 330);
        var (a, b) = (left.ToArray(), right.ToArray());
        Assert.Equal(1f, PeakLimiter.Limit([a, b], Rate));
        Assert.Equal(left, a);
        Assert.Equal(right, b);
    }

    [Fact]
    public void A_loud_passage_is_brought_under_the_ceiling_smoothly_and_the_rest_is_kept()
    {
        // 3 s at 0.5, with 0.2 s at 2.5 from 1 s: a take whose level rose past full scale.
        var input = Sine(0.5, 3);
        int from = Rate, to = Rate + Rate / 5;
        for (int n = from; n < to; n++) input[n] *= 5;
        var output = input.ToArray();
        float lowest = PeakLimiter.Limit([output], Rate);

        Assert.All(output, x => Assert.True(Math.Abs(x) <= PeakLimiter.Ceiling));
        Assert.InRange(lowest, 0.95 * PeakLimiter.Ceiling / 2.5, PeakLimiter.Ceiling / 2.5 + 1e-6);
        // The loud passage keeps its shape: as loud as the ceiling lets it be, not a square wave.
        double loudPeak = output.AsSpan(from + Rate / 20, Rate / 10).ToArray().Max(Math.Abs);
        Assert.InRange(loudPeak, 0.9 * PeakLimiter.Ceiling, PeakLimiter.Ceiling);
        int flat = Enumerable.Range(1, output.Length - 1).Count(n => Math.Min(Math.Abs(output[n - 1]), Math.Abs(output[n])) >= PeakLimiter.Ceiling - 1e-6);
        Assert.True(flat == 0, $"{flat} flat tops: neighbouring samples both at the ceiling");
        // Before the attack the audio is untouched; the gain falls over the attack with no step between samples.
        int attack = (int)Math.Round(PeakLimiter.AttackSeconds * Rate);
        Assert.Equal(input.AsSpan(0, from - attack - 1).ToArray(), output.AsSpan(0, from - attack - 1).ToArray());
        var gains = Enumerable.Range(from - 2 * attack, 2 * attack).Where(n => Math.Abs(input[n]) > 0.05).Select(n => output[n] / input[n]).ToArray();
        Assert.True(gains.Zip(gains.Skip(1)).All(p => Math.Abs(p.First - p.Second) < 0.05), "the gain falls in small steps");
        // After it the gain recovers over the release (0.1 s) and is 1 again a second after.
        Assert.Equal(input.AsSpan(to + Rate).ToArray(), output.AsSpan(to + Rate).ToArray());
        Assert.True(output[to + 10] / input[to + 10] < 0.6, "no jump back to full gain at the passage's end");
    }

    [Fact]
    public void A_negative_peak_is_limited_as_a_positive_one()
    {
        var input = Sine(0.5, 1);
        input[Rate / 2] = -1.5f; // the largest magnitude, and the most negative value
        var output = input.ToArray();
        Assert.True(PeakLimiter.Limit([output], Rate) < 0.66f);
        Assert.True(output.Max(Math.Abs) <= PeakLimiter.Ceiling);
    }

    [Fact]
    public void Every_channel_gets_the_same_gain()
    {
        var left = Sine(1.5, 0.5);
        var right = Sine(0.3, 0.5, 330);
        var (a, b) = (left.ToArray(), right.ToArray());
        PeakLimiter.Limit([a, b], Rate);
        for (int n = 0; n < a.Length; n++)
            if (Math.Abs(left[n]) > 0.1 && Math.Abs(right[n]) > 0.1)
                Assert.Equal(a[n] / left[n], b[n] / right[n], 1e-4);
        Assert.True(b.Max(Math.Abs) < 0.25, "the quiet channel is lowered with the loud one");
    }

    [Fact]
    public void The_sliding_minimum_is_the_minimum_of_each_window()
    {
        var rng = new Random(3);
        var values = Enumerable.Range(0, 500).Select(_ => (float)rng.NextDouble()).ToArray();
        foreach (int reach in new[] { 1, 4, 37 })
        {
            var fast = values.ToArray();
            PeakLimiter.SlidingMinimumInPlace(fast, reach);
            for (int n = 0; n < values.Length; n++)
            {
                int from = Math.Max(0, n - reach), to = Math.Min(values.Length - 1, n + reach);
                Assert.Equal(values[from..(to + 1)].Min(), fast[n]);
            }
        }
    }
}
