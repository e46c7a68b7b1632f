using TorchSharp;
using static TorchSharp.torch;
using MusicGen.Transforms.Torch;

namespace MusicGen.Transforms.Spectral;

/// <summary>
/// Turns whole clips into feature frames and back, with LibTorch's STFT (no per-frame managed loops). Frames are laid
/// out frame-major: <c>features[f * FeatureSize(C) + ...]</c>, channels one after another within a frame.
/// The STFT is centred (frame f is centred on sample f * Hop, reflection-padded at the ends), so a clip of L samples gives
/// 1 + L / Hop frames, and the inverse is LibTorch's weighted overlap-add (the sum of the squared window divides out,
/// never the window alone). <see cref="Representation.Seed2017"/> is the 2017 framing instead (<see cref="FftFraming"/>).
/// </summary>
public sealed class SpectralTransform : IDisposable
{
    private readonly FftFraming? seed2017;
    private readonly Tensor window;
    private readonly Tensor? melBank;        // [M, B]
    private readonly Tensor? melInverse;     // [B, M]

    /// <summary>Precomputes the window and, for LogMel, the filter bank and its pseudo-inverse.</summary>
    public SpectralTransform(SpectralSettings settings, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        Settings = settings;
        SampleRate = sampleRate;
        if (settings.Representation == Representation.Seed2017) seed2017 = new FftFraming(settings.FrameSize, settings.Scale);
        window = MakeWindow(settings.Window, settings.FrameSize).DetachFromDisposeScope();
        if (settings.Representation == Representation.LogMel)
        {
            using var scope = NewDisposeScope();
            var bank = tensor(MelFilters.Triangular(settings.MelBands, settings.FrameSize, sampleRate), [settings.MelBands, settings.Bins]);
            melBank = bank.MoveToOuterDisposeScope();
            melInverse = linalg.pinv(bank).MoveToOuterDisposeScope();
        }
    }

    /// <summary>The settings.</summary>
    public SpectralSettings Settings { get; }

    /// <summary>The sample rate frames are timed against.</summary>
    public int SampleRate { get; }

    /// <summary>Values per frame for <paramref name="channels"/> channels.</summary>
    public int FeatureSize(int channels) => channels * Settings.Representation switch
    {
        Representation.Seed2017 => 2 * Settings.FrameSize,
        Representation.ComplexSpectrum => 2 * Settings.Bins,
        Representation.LogMagnitude => Settings.Bins,
        _ => Settings.MelBands,
    };

    /// <summary>Samples between frames.</summary>
    public int Hop => Settings.Representation == Representation.Seed2017 ? Settings.FrameSize : Settings.Hop;

    /// <summary>Frames in a clip of <paramref name="samples"/> samples per channel.</summary>
    public int FrameCount(int samples) => Settings.Representation == Representation.Seed2017
        ? samples / Settings.FrameSize
        : samples < Settings.FrameSize / 2 + 1 ? 0 : 1 + samples / Settings.Hop;

    /// <summary>Features of a whole clip, frame-major.</summary>
    public float[] Direct(float[][] channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        if (seed2017 is not null) return seed2017.Direct(channels);
        int c = channels.Length, length = channels[0].Length;
        if (FrameCount(length) == 0) return [];
        using var scope = NewDisposeScope();
        var spectrum = Stft(Planar(channels, length));                          // [C, B, F] complex
        return Tensors.ToArray(Features(spectrum));                             // [F, C, D]
    }

    /// <summary>
    /// Samples from frame-major features. Exact for Seed2017 and ComplexSpectrum; the log representations rebuild phase
    /// with <see cref="SpectralSettings.GriffinLimIterations"/> iterations of Griffin-Lim, from a random phase drawn with
    /// <paramref name="seed"/>.
    /// </summary>
    public float[][] Inverse(ReadOnlySpan<float> features, int channels, int seed = 0, int iterations = 0)
    {
        if (seed2017 is not null) return seed2017.Inverse(features, channels);
        int dim = FeatureSize(channels);
        if (features.Length % dim != 0)
            throw new ArgumentException($"Feature length {features.Length} is not a multiple of the frame size {dim}.", nameof(features));
        int frames = features.Length / dim;
        if (frames == 0) return Enumerable.Range(0, channels).Select(_ => Array.Empty<float>()).ToArray();
        using var scope = NewDisposeScope();
        var x = Tensors.Wrap(features.ToArray(), frames, channels, dim / channels).permute(1, 2, 0); // [C, D, F]
        Tensor signal;
        if (Settings.Representation == Representation.ComplexSpectrum)
        {
            int bins = Settings.Bins;
            using Scalar scale = Settings.Scale;
            var complexSpectrum = complex(x.narrow(1, 0, bins), x.narrow(1, bins, bins)).div(scale);
            signal = Istft(complexSpectrum, frames);
        }
        else
        {
            signal = GriffinLim(Magnitude(x), frames, seed, iterations > 0 ? iterations : Settings.GriffinLimIterations);
        }
        var samples = Tensors.ToArray(signal);
        int length = samples.Length / channels;
        return Enumerable.Range(0, channels).Select(ch => samples.AsSpan(ch * length, length).ToArray()).ToArray();
    }

    /// <summary>Magnitude spectrogram [C, B, F] (unscaled STFT units) from log features [C, D, F].</summary>
    private Tensor Magnitude(Tensor x)
    {
        using Scalar floor = Settings.LogFloor, scale = Settings.Scale, zero = 0;
        if (Settings.Representation == Representation.LogMagnitude)
            return x.exp().Minus(floor).clamp_min(zero).div(scale);
        var power = matmul(melInverse!, x.exp().Minus(floor)).clamp_min(zero);   // [C, B, F]
        return power.sqrt().div(scale);
    }

    private Tensor Features(Tensor spectrum)
    {
        using Scalar scale = Settings.Scale, floor = Settings.LogFloor;
        var scaled = spectrum.mul(scale);
        Tensor perChannel = Settings.Representation switch                 // [C, D, F]
        {
            Representation.ComplexSpectrum => cat([scaled.real, scaled.imag], 1),
            Representation.LogMagnitude => scaled.abs().Plus(floor).log(),
            _ => matmul(melBank!, scaled.abs().square()).Plus(floor).log(),
        };
        return perChannel.permute(2, 0, 1);
    }

    private Tensor Planar(float[][] channels, int length)
    {
        var flat = new float[channels.Length * length];
        for (int ch = 0; ch < channels.Length; ch++) channels[ch].CopyTo(flat, ch * length);
        return Tensors.Wrap(flat, channels.Length, length);
    }

    private Tensor Stft(Tensor signal) =>
        stft(signal, Settings.FrameSize, Settings.Hop, window: window, center: true, onesided: true, return_complex: true);

    private Tensor Istft(Tensor spectrum, int frames) =>
        istft(spectrum, Settings.FrameSize, Settings.Hop, window: window, center: true, onesided: true, length: (long)(frames - 1) * Settings.Hop);

    /// <summary>Fast Griffin-Lim (Perraudin et al. 2013, momentum 0.99): a signal whose STFT magnitude approaches <paramref name="magnitude"/>.</summary>
    private Tensor GriffinLim(Tensor magnitude, int frames, int seed, int iterations)
    {
        using var generator = new Generator((ulong)seed);
        using Scalar twoPi = 2 * Math.PI, momentum = 0.99 / (1 + 0.99), tiny = 1e-16;
        var phase = rand(magnitude.shape, generator: generator).mul(twoPi);
        var angles = polar(ones_like(magnitude), phase).DetachFromDisposeScope();   // unit complex numbers
        var previous = zeros_like(angles).DetachFromDisposeScope();
        try
        {
            for (int i = 0; i < iterations; i++)
            {
                using var iteration = NewDisposeScope(); // frees each iteration's spectrograms
                var rebuilt = Stft(Istft(magnitude.mul(angles), frames));
                var accelerated = rebuilt.Minus(previous.mul(momentum));
                var next = accelerated.div(accelerated.abs().Plus(tiny));
                angles.Dispose();
                angles = next.DetachFromDisposeScope();
                previous.Dispose();
                previous = rebuilt.DetachFromDisposeScope();
            }
            return Istft(magnitude.mul(angles), frames);
        }
        finally
        {
            angles.Dispose();
            previous.Dispose();
        }
    }

    private static Tensor MakeWindow(WindowKind kind, int size) => kind switch
    {
        WindowKind.Hann => hann_window(size),
        WindowKind.Hamming => hamming_window(size),
        _ => ones(size),
    };

    /// <summary>Frees the precomputed tensors.</summary>
    public void Dispose()
    {
        window.Dispose();
        melBank?.Dispose();
        melInverse?.Dispose();
    }
}
