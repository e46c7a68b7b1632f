using MusicGen.Transforms.Spectral;

namespace MusicGen.Tests;

public class OnsetsTests
{
    [Fact]
    public void The_envelope_is_the_mean_rectified_rise_between_frames()
    {
        float[] frames = [0, 0, 1, -1, 1, 3, 0, 0];   // four frames of two values
        Assert.Equal([0.5, 2, 0], Onsets.Envelope(frames, 2));
    }

    [Fact]
    public void An_impulse_every_20_steps_has_period_20()
    {
        var envelope = Enumerable.Range(0, 400).Select(i => i % 20 == 3 ? 1.0 : 0.0).ToArray();
        var (period, strength) = Onsets.StrongestPeriod(envelope, 11, 86);
        Assert.Equal(20, period);
        Assert.InRange(strength, 0.9, 1);
        Assert.Equal(0, Onsets.StrongestPeriod(new double[400], 11, 86).Strength);   // flat: no pulse
        var random = new Random(2);
        Assert.InRange(Onsets.StrongestPeriod(Enumerable.Range(0, 400).Select(_ => random.NextDouble()).ToArray(), 11, 86).Strength, 0, 0.3);
    }
}
