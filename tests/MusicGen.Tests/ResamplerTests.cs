using MusicGen.Transforms.Audio;
using Xunit.Abstractions;

namespace MusicGen.Tests;

public class ResamplerTests(ITestOutputHelper output)
{
    private static float[] Sine(double frequency, int rate, double seconds, double amplitude = 0.5) =>
        Enumerable.Range(0, (int)(rate * seconds)).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * frequency * i / rate))).ToArray();

    /// <summary>Power spectrum (dB re the peak) of the middle 65536 samples with a 4-term Blackman-Harris window.</summary>
    private static (double[] Db, double BinHz) Spectrum(float[] x, int rate)
    {
        const int N = 65536;
        int start = (x.Length - N) / 2;
        var frame = new float[N];
        for (int i = 0; i < N; i++)
        {
            double a = 2 * Math.PI * i / (N - 1);
            double w = 0.35875 - 0.48829 * Math.Cos(a) + 0.14128 * Math.Cos(2 * a) - 0.01168 * Math.Cos(3 * a);
            frame[i] = (float)(x[start + i] * w);
        }
        using var t = TorchSharp.torch.tensor(frame);
        using var spectrum = TorchSharp.torch.fft.rfft(t).abs();
        var magnitude = spectrum.data<float>().ToArray();
        double peak = magnitude.Max();
        return (magnitude.Select(m => 20 * Math.Log10(m / peak + 1e-30)).ToArray(), (double)rate / N);
    }

    /// <summary>Strongest component more than 200 Hz away from <paramref name="frequency"/>, in dB re the tone.</summary>
    private static double WorstSpur(float[] x, int rate, double frequency)
    {
        var (db, binHz) = Spectrum(x, rate);
        return db.Where((_, k) => Math.Abs(k * binHz - frequency) > 200).Max();
    }

    private static double RmsDb(float[] x)
    {
        int skip = x.Length / 10;
        var middle = x.AsSpan(skip, x.Length - 2 * skip);
        double sum = 0;
        foreach (var v in middle) sum += v * v;
        return 10 * Math.Log10(sum / middle.Length);
    }

    [Fact]
    public void A_1kHz_tone_keeps_its_level_through_48k_44k1_48k_with_no_products_above_minus_80_dB()
    {
        var original = Sine(1000, 48000, 3);
        var down = new Resampler(48000, 44100).Process(original);
        var back = new Resampler(44100, 48000).Process(down);
        Assert.Equal(44100 * 3, down.Length);
        Assert.Equal(original.Length, back.Length);
        double levelChange = RmsDb(back) - RmsDb(original);
        double spurDown = WorstSpur(down, 44100, 1000), spurBack = WorstSpur(back, 48000, 1000);
        output.WriteLine($"level change {levelChange:F4} dB; worst product {spurDown:F1} dB at 44.1 kHz, {spurBack:F1} dB after the round trip");
        Assert.InRange(levelChange, -0.1, 0.1);
        Assert.True(spurDown < -80, $"{spurDown} dB");
        Assert.True(spurBack < -80, $"{spurBack} dB");
    }

    [Fact]
    public void A_tone_above_the_new_Nyquist_is_removed_not_folded_back()
    {
        var tone = Sine(23000, 48000, 2);
        var reference = Sine(1000, 48000, 2);
        var down = new Resampler(48000, 44100).Process(tone);
        double aliasDb = RmsDb(down) - RmsDb(reference);
        output.WriteLine($"23 kHz tone after 48 -> 44.1 kHz: {aliasDb:F1} dB re the input level");
        Assert.True(aliasDb < -80, $"{aliasDb} dB");
    }

    [Theory]
    [InlineData(22050, 44100)]
    [InlineData(96000, 22050)]
    [InlineData(44100, 44101)]
    public void Converts_length_and_keeps_a_low_tone(int from, int to)
    {
        var resampler = new Resampler(from, to);
        var y = resampler.Process(Sine(440, from, 1));
        Assert.Equal(resampler.OutputLength(from), y.Length);
        Assert.InRange(y.Length, to - 1, to + 1);
        var expected = Sine(440, to, 1);
        double maxError = 0;
        for (int i = to / 10; i < to * 9 / 10; i++) maxError = Math.Max(maxError, Math.Abs(y[i] - expected[i]));
        Assert.True(maxError < 1e-3, $"max error {maxError}");
    }

    [Fact]
    public void Matching_rates_return_the_clip_untouched()
    {
        var clip = TestAudio.Melody(8000, 0.5, 1);
        Assert.Same(clip, new Resampler(8000, 8000).Process(clip));
    }
}
