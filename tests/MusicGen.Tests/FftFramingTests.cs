using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Torch;

namespace MusicGen.Tests;

public class FftFramingTests
{
    [Fact]
    public void Transforms_hand_computed_frames()
    {
        var framing = new FftFraming(4, 0.5f); // the 2017 scale 1/(N/2)
        // Frames: impulse, constant, and [0, 1, 0, -1] (X = [0, -2i, 0, 2i]).
        float[] signal = [1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0, -1];
        var f = framing.Direct([signal]);
        Assert.Equal(3 * 8, f.Length);
        AssertClose([0.5f, 0.5f, 0.5f, 0.5f, 0, 0, 0, 0], f.AsSpan(0, 8));
        AssertClose([2f, 0, 0, 0, 0, 0, 0, 0], f.AsSpan(8, 8));
        AssertClose([0, 0, 0, 0, 0, -1f, 0, 1f], f.AsSpan(16, 8));
    }

    [Fact]
    public void Seed2017_layout_matches_an_independent_DFT_of_stereo_frames()
    {
        const int N = 256;
        var clip = TestAudio.Melody(44100, 0.05, 2);
        var framing = new FftFraming(N, 1f / (N / 2));
        var features = framing.Direct(clip.Channels);
        int frames = clip.Length / N;
        Assert.Equal(frames * 4 * N, features.Length);
        for (int frame = 0; frame < frames; frame++)
        {
            for (int c = 0; c < 2; c++)
            {
                for (int k = 0; k < N; k++)
                {
                    double re = 0, im = 0;
                    for (int n = 0; n < N; n++)
                    {
                        double x = clip.Channels[c][frame * N + n], a = -2 * Math.PI * k * n / N;
                        re += x * Math.Cos(a);
                        im += x * Math.Sin(a);
                    }
                    int at = frame * 4 * N + c * 2 * N;
                    Assert.Equal(re / (N / 2), features[at + k], 4);
                    Assert.Equal(im / (N / 2), features[at + N + k], 4);
                }
            }
        }
    }

    [Theory]
    [InlineData(1, 256)]
    [InlineData(2, 256)]
    [InlineData(2, 1024)]
    public void Inverse_gives_back_the_signal(int channels, int frameSize)
    {
        var clip = TestAudio.Melody(22050, 1, channels);
        var framing = new FftFraming(frameSize, 2f / frameSize);
        var features = framing.Direct(clip.Channels);
        Assert.Equal(framing.FeatureSize(channels) * (clip.Length / frameSize), features.Length);
        var back = framing.Inverse(features, channels);
        int kept = clip.Length / frameSize * frameSize;
        double maxError = 0;
        for (int c = 0; c < channels; c++)
        {
            Assert.Equal(kept, back[c].Length);
            for (int i = 0; i < kept; i++) maxError = Math.Max(maxError, Math.Abs(back[c][i] - clip.Channels[c][i]));
        }
        Assert.True(maxError < 1e-5, $"max error {maxError}");
    }

    [Fact]
    public void Inverse_of_a_vector_that_is_not_conjugate_symmetric_is_the_real_part_of_its_inverse_DFT()
    {
        const int N = 8;
        var framing = new FftFraming(N, 0.25f);
        var random = new Random(5);
        var features = Enumerable.Range(0, 2 * N).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(); // like a network's output
        var samples = framing.Inverse(features, 1)[0];
        for (int t = 0; t < N; t++)
        {
            double real = 0;
            for (int k = 0; k < N; k++)
            {
                double a = 2 * Math.PI * k * t / N;
                real += (features[k] * Math.Cos(a) - features[N + k] * Math.Sin(a)) / 0.25;
            }
            Assert.Equal(real / N, samples[t], 5);
        }
    }

    [Fact]
    public void Mono_gives_2N_values_per_frame_and_drops_the_partial_frame()
    {
        var framing = new FftFraming(256, 1f / 128);
        Assert.Equal(512, framing.FeatureSize(1));
        Assert.Equal(2 * 512, framing.Direct([new float[600]]).Length);
        Assert.Empty(framing.Direct([new float[100]]));
    }

    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
    }
}

public class OneDnnTests
{
    [Fact]
    public void The_switch_is_found_and_toggles_and_restores()
    {
        Assert.True(OneDnn.Available);
        bool before = OneDnn.Enabled;
        using (OneDnn.Scope(!before)) Assert.Equal(!before, OneDnn.Enabled);
        Assert.Equal(before, OneDnn.Enabled);
    }

    [Fact]
    public void The_LSTM_check_is_true_only_where_the_kernels_agree_and_leaves_the_random_stream_alone()
    {
        foreach (int hidden in new[] { 8, 16, 24, 32, 48, 64 })
        {
            TorchSharp.torch.manual_seed(3);
            bool agrees = OneDnn.LstmAgrees(16, hidden);
            float drawn = TorchSharp.torch.rand(1).item<float>();
            TorchSharp.torch.manual_seed(3);
            Assert.Equal(TorchSharp.torch.rand(1).item<float>(), drawn);
            if (!agrees) continue;   // seen on one CPU for some sizes: training then runs without oneDNN
            // Another LSTM of the same shape and another input: the kernels agree there too.
            using var lstm = TorchSharp.torch.nn.LSTM(16, hidden);
            using var noGrad = TorchSharp.torch.no_grad();
            var x = TorchSharp.torch.randn(50, 4, 16);
            TorchSharp.torch.Tensor on, off;
            using (OneDnn.Scope(true)) on = lstm.call(x).Item1;
            using (OneDnn.Scope(false)) off = lstm.call(x).Item1;
            Assert.True(on.sub(off).abs().max().item<float>() < 1e-4, $"{hidden} units");
        }
    }
}
