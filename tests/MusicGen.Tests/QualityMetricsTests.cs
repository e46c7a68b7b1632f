using MusicGen.Transforms.Audio;
using Xunit.Abstractions;
using MusicGen.Evaluation;

namespace MusicGen.Tests;

public class QualityMetricsTests(ITestOutputHelper output)
{
    private static AudioClip Music(string name = "jungle.wav") =>
        WavReader.Read(Path.Combine(QuickStartSampleTests.RepositoryRoot(), "data", name));

    /// <summary>A 172.27 Hz tone (period 128 samples, so every hop-512 frame is the same: the 2017 buzz).</summary>
    private static AudioClip Tone(double seconds = 10) =>
        new(22050, [Enumerable.Range(0, (int)(22050 * seconds)).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * i / 128.0))).ToArray()]);

    private static AudioClip Noise(double seconds = 10)
    {
        var random = new Random(7);
        return new AudioClip(22050, [Enumerable.Range(0, (int)(22050 * seconds)).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()]);
    }

    [Fact]
    public void A_constant_tone_has_a_flux_ratio_near_zero_against_music()
    {
        double music = QualityMetrics.Flux(QualityMetrics.LogMel(Music()));
        double tone = QualityMetrics.Flux(QualityMetrics.LogMel(Tone()));
        output.WriteLine($"flux: music {music:F3}, tone {tone:F5}");
        Assert.True(tone / music < 0.02, $"ratio {tone / music}");
    }

    [Fact]
    public void A_file_against_itself_has_Frechet_distance_zero_and_differs_from_another()
    {
        var a = QualityMetrics.LogMel(Music());
        var b = QualityMetrics.LogMel(Music("desert.wav"));
        double self = QualityMetrics.Frechet(a, a), other = QualityMetrics.Frechet(a, b);
        output.WriteLine($"FD self {self:G3}, jungle vs desert {other:F2}, ratio of desert to jungle halves {QualityMetrics.FrechetRatio(b, a):F2}");
        Assert.True(self < 1e-6 * other, $"self {self}, other {other}");
        Assert.Equal(0, QualityMetrics.SeedSensitivity(a, a, a, b), 6);
    }

    [Fact]
    public void Frechet_distance_of_two_shifted_Gaussians_is_the_squared_shift()
    {
        var random = new Random(3);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var a = Enumerable.Range(0, 20000).Select(_ => new[] { (float)Normal(), (float)Normal() }).ToArray();
        var b = a.Select(v => new[] { v[0] + 3f, v[1] }).ToArray();
        Assert.Equal(9, QualityMetrics.Frechet(a, b), 1);
        var scaled = a.Select(v => new[] { 2 * v[0], v[1] }).ToArray(); // sd 1 vs 2: (2 - 1)^2 = 1
        Assert.Equal(1, QualityMetrics.Frechet(a, scaled), 1);
    }

    [Fact]
    public void Loudness_of_a_steady_tone_does_not_move_and_music_does()
    {
        Assert.Equal(0, QualityMetrics.LoudnessMovement(Tone()), 2);
        Assert.True(QualityMetrics.LoudnessMovement(Music()) > 0.3);
        Assert.True(QualityMetrics.LoudnessMovementRatio([Tone(5)], [Music()]) < 0.01);
    }

    [Fact]
    public void Tonality_separates_tone_music_and_noise()
    {
        double tone = QualityMetrics.Tonality(Tone()), music = QualityMetrics.Tonality(Music()), noise = QualityMetrics.Tonality(Noise());
        output.WriteLine($"flatness: tone {tone:G3}, music {music:G3}, noise {noise:G3}");
        Assert.True(tone < music && music < noise);
        Assert.InRange(music, 1e-5, 3e-2);
        Assert.InRange(noise, 0.2, 0.8);
        Assert.True(QualityMetrics.TonalityRatio([Noise()], [Music()]) > 20);
    }
}
