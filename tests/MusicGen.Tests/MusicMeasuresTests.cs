using MusicGen.Evaluation;
using MusicGen.Transforms.Audio;
using Xunit.Abstractions;

namespace MusicGen.Tests;

/// <summary>Measures 8-10 of docs/quality.md on inputs whose answer is known.</summary>
public class MusicMeasuresTests(ITestOutputHelper output)
{
    /// <summary>Short decaying noise bursts every <paramref name="period"/> seconds: a steady beat.</summary>
    private static AudioClip Clicks(double seconds, double period, int seed = 3)
    {
        var random = new Random(seed);
        var samples = new float[(int)(22050 * seconds)];
        for (int i = 0; i < samples.Length; i++)
        {
            double sinceBeat = i / 22050.0 % period;
            samples[i] = (float)((random.NextDouble() - 0.5) * Math.Exp(-sinceBeat * 60));
        }
        return new AudioClip(22050, [samples]);
    }

    private static AudioClip Noise(double seconds, int seed = 5)
    {
        var random = new Random(seed);
        return new AudioClip(22050, [Enumerable.Range(0, (int)(22050 * seconds)).Select(_ => (float)(random.NextDouble() - 0.5) * 0.5f).ToArray()]);
    }

    [Fact]
    public void A_steady_beat_has_a_strong_pulse_and_noise_a_weak_one()
    {
        var beat = QualityMetrics.PulseStrengths(QualityMetrics.OnsetEnvelope(QualityMetrics.LogMel(Clicks(21, 0.5))));
        var noise = QualityMetrics.PulseStrengths(QualityMetrics.OnsetEnvelope(QualityMetrics.LogMel(Noise(21))));
        output.WriteLine($"pulse: beat {string.Join(", ", beat.Select(v => v.ToString("F3")))}, noise {string.Join(", ", noise.Select(v => v.ToString("F3")))}");
        Assert.Equal(2, beat.Count);                      // two whole 10 s windows in 21 s
        Assert.All(beat, v => Assert.InRange(v, 0.5, 1));
        Assert.All(noise, v => Assert.InRange(v, 0, 0.25));
        Assert.Equal(1, QualityMetrics.PulseRatio([Clicks(20, 0.5)], [Clicks(20, 0.5)]), 12);
        Assert.True(QualityMetrics.PulseRatio([Noise(20)], [Clicks(20, 0.5)]) < 0.4);
        Assert.True(double.IsNaN(QualityMetrics.Pulse([Clicks(5, 0.5)])));   // shorter than one window
    }

    [Fact]
    public void A_beat_slower_than_two_seconds_is_not_a_pulse()
    {
        double fast = QualityMetrics.Pulse([Clicks(20, 0.4)]), slow = QualityMetrics.Pulse([Clicks(20, 3.3)]);
        output.WriteLine($"pulse: 0.4 s period {fast:F3}, 3.3 s period {slow:F3}");
        Assert.True(slow < fast / 2, $"fast {fast}, slow {slow}");
    }

    [Fact]
    public void The_onset_envelope_is_the_mean_rectified_rise()
    {
        float[][] frames = [[0, 0], [1, -1], [1, 3], [0, 0]];
        Assert.Equal([0.5, 2, 0], QualityMetrics.OnsetEnvelope(frames));
    }

    [Fact]
    public void Distances_over_real_audio_are_ratios_of_Frechet_distances()
    {
        // Gaussian sets in two dimensions: the reference at 0, real audio shifted by 1 and the compared set by 2 along
        // the first axis, the same spread: Frechet distances 1 and 4, ratio 4.
        var random = new Random(11);
        List<float[]> Set(double shift) => Enumerable.Range(0, 4000).Select(_ =>
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            double r = Math.Sqrt(-2 * Math.Log(u1));
            return new[] { (float)(shift + r * Math.Cos(2 * Math.PI * u2)), (float)(r * Math.Sin(2 * Math.PI * u2)) };
        }).ToList();
        var reference = Set(0);
        double ratio = QualityMetrics.FrechetOverReal(Set(2), Set(1), reference);
        Assert.InRange(ratio, 3.6, 4.4);
        Assert.InRange(QualityMetrics.FrechetOverReal(reference, Set(1), reference), 0, 1e-9);
    }

    [Fact]
    public void Real_excerpts_are_the_seeds_cut_into_pieces_as_long_as_the_takes()
    {
        var pieces = QualityMetrics.Excerpts([Clicks(25, 0.5), Clicks(9, 0.5)], seconds: 4, count: 3);
        Assert.Equal(5, pieces.Count);                    // 3 from the long seed, 2 that fit in the short one
        Assert.All(pieces, p => Assert.Equal(4 * 22050, p.Length));
        Assert.Equal(Clicks(25, 0.5).Channels[0][(4 * 22050)..(8 * 22050)], pieces[1].Channels[0]);
    }

    [Fact]
    public void Basic_Pitch_embeddings_tell_music_from_noise_when_the_tool_is_installed()
    {
        var embedder = BasicPitch.Find(out string missing);
        if (embedder is null)
        {
            output.WriteLine($"skipped: {missing}");
            return;
        }
        var music = WavReader.Read(Path.Combine(QuickStartSampleTests.RepositoryRoot(), "data", "jungle.wav"));
        var halves = QualityMetrics.Excerpts([music], 8, 2);
        var sets = embedder.Embed([halves[0], halves[1], Noise(8)]);
        Assert.All(sets, s => Assert.All(s, f => Assert.Equal(BasicPitch.EmbeddingSize, f.Length)));
        Assert.InRange(sets[0].Length, (int)(8 * BasicPitch.FramesPerSecond) - 2, (int)(8 * BasicPitch.FramesPerSecond) + 1);
        double musicToMusic = QualityMetrics.Frechet(sets[0], sets[1]), noiseToMusic = QualityMetrics.Frechet(sets[2], sets[1]);
        output.WriteLine($"Basic Pitch FAD: music halves {musicToMusic:F2}, noise to music {noiseToMusic:F2}");
        Assert.True(noiseToMusic > 3 * musicToMusic, $"music {musicToMusic}, noise {noiseToMusic}");
    }
}
