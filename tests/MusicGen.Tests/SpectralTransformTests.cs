using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Spectral;
using Xunit.Abstractions;

namespace MusicGen.Tests;

public class SpectralTransformTests(ITestOutputHelper output)
{
    /// <summary>Real music from the repository's demo corpus: 5 s of data/jungle.wav.</summary>
    internal static float[] Music(double seconds = 5)
    {
        var clip = WavReader.Read(Path.Combine(QuickStartSampleTests.RepositoryRoot(), "data", "jungle.wav"));
        return clip.Channels[0].AsSpan(0, (int)(seconds * clip.SampleRate)).ToArray();
    }

    private static double SnrDb(float[] reference, float[] test, int skip)
    {
        double signal = 0, noise = 0;
        for (int i = skip; i < Math.Min(reference.Length, test.Length) - skip; i++)
        {
            signal += (double)reference[i] * reference[i];
            noise += (double)(reference[i] - test[i]) * (reference[i] - test[i]);
        }
        return 10 * Math.Log10(signal / noise);
    }

    [Theory]
    [InlineData(WindowKind.Hann, 1024, 256)]
    [InlineData(WindowKind.Hann, 512, 256)]
    [InlineData(WindowKind.Hamming, 1024, 512)]
    [InlineData(WindowKind.Rectangular, 256, 256)]
    public void Complex_spectrum_round_trip_on_real_music_is_above_90_dB(WindowKind window, int frameSize, int hop)
    {
        var music = Music();
        using var transform = new SpectralTransform(new SpectralSettings(Representation.ComplexSpectrum, frameSize, hop, window, 2f / frameSize), 22050);
        var features = transform.Direct([music]);
        Assert.Equal(transform.FrameCount(music.Length) * transform.FeatureSize(1), features.Length);
        var back = transform.Inverse(features, 1)[0];
        double snr = SnrDb(music, back, 0);
        output.WriteLine($"{window} N={frameSize} hop={hop}: SNR {snr:F1} dB");
        Assert.True(snr > 90, $"SNR {snr} dB");
    }

    [Theory]
    [InlineData(WindowKind.Hann, 2048, 512)]
    [InlineData(WindowKind.Hann, 1024, 256)]
    [InlineData(WindowKind.Hamming, 1024, 512)]
    [InlineData(WindowKind.Rectangular, 256, 256)]
    [InlineData(WindowKind.Hann, 1000, 300)] // the hop does not divide the frame: LibTorch's own
    public void The_inverse_STFT_is_LibTorchs_on_a_spectrum_that_no_signal_has(WindowKind window, int frameSize, int hop)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var transform = new SpectralTransform(new SpectralSettings(Representation.ComplexSpectrum, frameSize, hop, window, 2f / frameSize), 22050);
        const int Frames = 40;
        var generator = new TorchSharp.torch.Generator(7);
        var spectrum = TorchSharp.torch.complex(TorchSharp.torch.randn([2, frameSize / 2 + 1, Frames], generator: generator),
            TorchSharp.torch.randn([2, frameSize / 2 + 1, Frames], generator: generator));  // what Griffin-Lim hands it: no signal's
        var ours = Transforms.Torch.Tensors.ToArray(transform.Istft(spectrum, Frames));
        var windowTensor = window switch
        {
            WindowKind.Hann => TorchSharp.torch.hann_window(frameSize),
            WindowKind.Hamming => TorchSharp.torch.hamming_window(frameSize),
            _ => TorchSharp.torch.ones(frameSize),
        };
        var theirs = Transforms.Torch.Tensors.ToArray(TorchSharp.torch.istft(spectrum, frameSize, hop, window: windowTensor, center: true,
            onesided: true, length: (Frames - 1) * hop));
        Assert.Equal(theirs.Length, ours.Length);
        double largest = theirs.Max(Math.Abs), worst = theirs.Zip(ours, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{window} {frameSize}/{hop}: largest sample {largest:F3}, largest difference {worst:E2}");
        Assert.True(worst <= 1e-5 * largest, $"difference {worst} against samples up to {largest}");
    }

    [Fact]
    public void Complex_spectrum_of_an_interior_frame_matches_a_direct_DFT_of_the_windowed_samples()
    {
        const int N = 64, Hop = 16;
        var music = Music(0.1);
        using var transform = new SpectralTransform(new SpectralSettings(Representation.ComplexSpectrum, N, Hop, WindowKind.Hann, 1f), 22050);
        var features = transform.Direct([music]);
        int frame = 10, dim = transform.FeatureSize(1), start = frame * Hop - N / 2; // centred frames
        for (int k = 0; k <= N / 2; k++)
        {
            double re = 0, im = 0;
            for (int n = 0; n < N; n++)
            {
                double w = 0.5 - 0.5 * Math.Cos(2 * Math.PI * n / N), a = -2 * Math.PI * k * n / N;
                re += w * music[start + n] * Math.Cos(a);
                im += w * music[start + n] * Math.Sin(a);
            }
            Assert.Equal(re, features[frame * dim + k], 4);
            Assert.Equal(im, features[frame * dim + N / 2 + 1 + k], 4);
        }
    }

    [Theory]
    [InlineData(Representation.LogMagnitude, 32)]
    [InlineData(Representation.LogMagnitude, 64)]
    [InlineData(Representation.LogMel, 32)]
    public void Log_representations_invert_close_to_the_original_spectrogram(Representation representation, int iterations)
    {
        var music = Music();
        var settings = new SpectralSettings(representation, 1024, 256, WindowKind.Hann, 2f / 1024, MelBands: 128, GriffinLimIterations: iterations);
        using var transform = new SpectralTransform(settings, 22050);
        using var magnitudes = new SpectralTransform(settings with { Representation = Representation.LogMagnitude }, 22050);
        var features = transform.Direct([music]);
        var back = transform.Inverse(features, 1, seed: 1)[0];
        // Spectral convergence: || |S| - |S'| || / || |S| || on the linear magnitude spectrogram.
        var target = magnitudes.Direct([music]).Select(v => Math.Exp(v)).ToArray();
        var rebuilt = magnitudes.Direct([back]).Select(v => Math.Exp(v)).ToArray();
        int n = Math.Min(target.Length, rebuilt.Length);
        double num = 0, den = 0;
        for (int i = 0; i < n; i++)
        {
            num += (target[i] - rebuilt[i]) * (target[i] - rebuilt[i]);
            den += target[i] * target[i];
        }
        double convergence = Math.Sqrt(num / den);
        output.WriteLine($"{representation}, {iterations} Griffin-Lim iterations: spectral convergence {convergence:F3}");
        Assert.True(convergence < (representation == Representation.LogMel ? 0.5 : 0.25), $"spectral convergence {convergence}");
        Assert.InRange(back.Length, music.Length - 256, music.Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void A_phase_locked_start_is_closer_to_real_music_than_a_random_one(int iterations)
    {
        var music = Music();
        using var transform = new SpectralTransform(new SpectralSettings(Representation.LogMagnitude, 2048, 512, WindowKind.Hann, 2f / 2048), 22050);
        var features = transform.Direct([music]);
        double Convergence(PhaseStart start) => transform.SpectralConvergence(features, transform.Inverse(features, 1, 1, iterations, start));
        double locked = Convergence(PhaseStart.Locked), random = Convergence(PhaseStart.Random);
        output.WriteLine($"{iterations} iteration(s): locked start {locked:F1} dB, random start {random:F1} dB");
        Assert.True(locked < random - 3, $"locked {locked:F1} dB, random {random:F1} dB");
    }

    [Fact]
    public void A_phase_locked_start_rebuilds_a_steady_tone_without_iterating_much()
    {
        // 440 Hz between bins: the peak's own frequency, not its bin's, has to carry the phase from frame to frame.
        var tone = Enumerable.Range(0, 22050 * 2).Select(i => (float)(0.5 * Math.Sin(2 * Math.PI * 440 * i / 22050))).ToArray();
        using var transform = new SpectralTransform(new SpectralSettings(Representation.LogMagnitude, 2048, 512, WindowKind.Hann, 2f / 2048), 22050);
        var features = transform.Direct([tone]);
        double locked = transform.SpectralConvergence(features, transform.Inverse(features, 1, 1, 1, PhaseStart.Locked));
        double random = transform.SpectralConvergence(features, transform.Inverse(features, 1, 1, 1, PhaseStart.Random));
        output.WriteLine($"1 iteration: locked start {locked:F1} dB, random start {random:F1} dB");
        Assert.True(locked < -22 && locked < random - 6, $"locked {locked:F1} dB, random {random:F1} dB");
    }

    [Fact]
    public void Settings_report_every_problem_at_once()
    {
        var e = Assert.Throws<ArgumentException>(() => new SpectralSettings(Representation.LogMel, 2, 0, WindowKind.Rectangular, 0, MelBands: 0).Validate());
        foreach (var word in new[] { "FrameSize", "Hop", "Scale", "MelBands" }) Assert.Contains(word, e.Message);
    }

    [Fact]
    public void Mel_filters_peak_at_one_on_the_HTK_scale()
    {
        Assert.Equal(1000, MelFilters.MelToHz(MelFilters.HzToMel(1000)), 6);
        Assert.Equal(999.99, MelFilters.HzToMel(1000), 0);
        var bank = MelFilters.Triangular(10, 512, 16000);
        for (int m = 0; m < 10; m++) Assert.InRange(bank.Skip(m * 257).Take(257).Max(), 0.8f, 1f);
    }

    [Theory]
    [InlineData(768, 360)] // one filter per bin up to about 4 kHz (bin 370)
    [InlineData(896, 530)] // the default: up to about 5.8 kHz (bin 542)
    public void Bin_floored_mel_filters_give_each_low_bin_its_own_filter_and_leave_none_empty(int bands, int ownBins)
    {
        const int bins = 1025;
        var plain = MelFilters.Triangular(bands, 2048, 22050);
        var floored = MelFilters.BinFloored(bands, 2048, 22050);
        Assert.Equal(plain.Length, floored.Length);
        int Peak(float[] bank, int m) => Array.IndexOf(bank, bank.AsSpan(m * bins, bins).ToArray().Max(), m * bins) - m * bins;
        bool Empty(float[] bank, int m) => bank.AsSpan(m * bins, bins).IndexOfAnyExcept(0f) < 0;
        Assert.Contains(Enumerable.Range(0, bands), m => Empty(plain, m)); // plain mel: filters between bins
        for (int m = 0; m < bands; m++)
        {
            Assert.False(Empty(floored, m), $"filter {m} is empty");
            if (m > 0) Assert.True(Peak(floored, m) > Peak(floored, m - 1), $"filters {m - 1} and {m} peak on the same bin");
        }
        // Low filter m weighs bin m + 1 alone; above, the filters widen on the mel scale.
        for (int m = 0; m < ownBins; m++)
            for (int k = 0; k < bins; k++) Assert.Equal(k == m + 1 ? 1f : 0f, floored[m * bins + k], 5);
        Assert.True(floored.Skip((bands - 1) * bins).Count(w => w > 0) > 2, "the top filter spans several bins");
        // Too many bands to keep centres a bin apart: the plain layout.
        Assert.Equal(MelFilters.Triangular(1024, 2048, 22050), MelFilters.BinFloored(1024, 2048, 22050));
    }
}
