using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
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
    /// with <see cref="SpectralSettings.GriffinLimIterations"/> iterations of Griffin-Lim (or <paramref name="iterations"/>
    /// when positive), from a phase-locked start (<see cref="PhaseStart.Locked"/>) whose first frame is drawn with
    /// <paramref name="seed"/>, or from a random phase (<see cref="PhaseStart.Random"/>, for comparison).
    /// </summary>
    public float[][] Inverse(ReadOnlySpan<float> features, int channels, int seed = 0, int iterations = 0, PhaseStart start = PhaseStart.Locked)
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
            signal = GriffinLim(Magnitude(x), frames, seed, iterations > 0 ? iterations : Settings.GriffinLimIterations, start);
        }
        var samples = Tensors.ToArray(signal);
        int length = samples.Length / channels;
        return Enumerable.Range(0, channels).Select(ch => samples.AsSpan(ch * length, length).ToArray()).ToArray();
    }

    /// <summary>
    /// How far <paramref name="samples"/> are from having the log features <paramref name="features"/> (as
    /// <see cref="Direct"/> gives them): the spectral convergence || e^F - e^F' || / || e^F ||, in decibels (20 log10;
    /// lower is closer). A phase reconstruction's own measure; frames placed side by side (a take's exemplars) may be
    /// the spectrogram of no signal at all, so it stays above minus infinity.
    /// </summary>
    public double SpectralConvergence(ReadOnlySpan<float> features, float[][] samples)
    {
        if (Settings.Representation is not (Representation.LogMagnitude or Representation.LogMel))
            throw new InvalidOperationException($"Spectral convergence compares log features, not {Settings.Representation}.");
        var rebuilt = Direct(samples);
        int n = Math.Min(features.Length, rebuilt.Length);
        double difference = 0, total = 0;
        for (int i = 0; i < n; i++)
        {
            double a = Math.Exp(features[i]), b = Math.Exp(rebuilt[i]);
            difference += (a - b) * (a - b);
            total += a * a;
        }
        return 10 * Math.Log10(difference / total);
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
            _ => matmul(melBank!, scaled.abs().Squared()).Plus(floor).log(),
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

    /// <summary>
    /// The centred inverse STFT of <paramref name="spectrum"/> [C, B, F], (F - 1) x Hop samples a channel: LibTorch's
    /// istft, to float rounding (<c>SpectralTransformTests</c>). Where the hop divides the frame, the overlap-add is
    /// N / Hop shifted sums of hop-long blocks instead of LibTorch's general one: at 2048 / 512 and 20 s it took a third
    /// of the time, and Griffin-Lim runs one a step (docs/design.md).
    /// </summary>
    internal Tensor Istft(Tensor spectrum, int frames)
    {
        int n = Settings.FrameSize, hop = Settings.Hop;
        long length = (long)(frames - 1) * hop;
        if (n % hop != 0 || spectrum.shape[2] != frames)
            return istft(spectrum, n, hop, window: window, center: true, onesided: true, length: length);
        using var scope = NewDisposeScope();
        var pieces = fft.irfft(spectrum.transpose(1, 2), n, dim: -1).mul_(window);   // [C, F, N]: windowed frames
        var sum = OverlapAdd(pieces.view(pieces.shape[0], frames, n / hop, hop));
        // LibTorch divides by the overlap-added squared window: positive wherever the centred trim keeps samples
        // for the windows SpectralSettings allows (it refuses otherwise; so does the general path above).
        var envelope = OverlapAdd(window.Squared().view(1, 1, n / hop, hop).expand(1, frames, n / hop, hop));
        var kept = envelope.narrow(1, n / 2, length);
        if (kept.min().item<float>() < 1e-11f) return istft(spectrum, n, hop, window: window, center: true, onesided: true, length: length).MoveToOuterDisposeScope();
        return sum.narrow(1, n / 2, length).div(kept).MoveToOuterDisposeScope();
    }

    // [C, F, K, H] blocks, block k of frame f at hop f + k: [C, (F + K - 1) x H] sums.
    private static Tensor OverlapAdd(Tensor blocks)
    {
        long channels = blocks.shape[0], frames = blocks.shape[1], count = blocks.shape[2], hop = blocks.shape[3];
        var sum = zeros(channels, frames + count - 1, hop);
        for (int k = 0; k < count; k++) sum.narrow(1, k, frames).PlusInPlace(blocks.select(2, k));
        return sum.view(channels, -1);
    }

    /// <summary>
    /// Fast Griffin-Lim (Perraudin et al. 2013, momentum 0.99): a signal whose STFT magnitude approaches
    /// <paramref name="magnitude"/> [C, B, F]. The transforms run in LibTorch; the step between them (the momentum, the
    /// new angles and the magnitudes laid back on them) is one pass over managed arrays, frame-major [C, F, B] complex,
    /// instead of five LibTorch operations (complex moduli among them): Griffin-Lim in 60% of the time (docs/design.md).
    /// </summary>
    private Tensor GriffinLim(Tensor magnitude, int frames, int seed, int iterations, PhaseStart start)
    {
        int channels = (int)magnitude.shape[0], bins = (int)magnitude.shape[1];
        var magnitudes = Tensors.ToArray(magnitude.permute(0, 2, 1));
        float[] phase;
        using (var generator = new Generator((ulong)seed))
        {
            using Scalar twoPi = 2 * Math.PI;
            phase = start == PhaseStart.Random
                ? Tensors.ToArray(rand(magnitude.shape, generator: generator).mul(twoPi).permute(0, 2, 1))
                : LockedPhase(magnitudes, channels, bins, frames, Tensors.ToArray(rand(channels, bins, generator: generator).mul(twoPi)));
        }
        var spectrum = new float[2 * magnitudes.Length];   // what the inverse reads: the magnitudes on the angles
        var rebuilt = new float[spectrum.Length];
        var previous = new float[spectrum.Length];
        using (var begin = NewDisposeScope())
            Tensors.Wrap(spectrum, channels, frames, bins, 2).copy_(view_as_real(polar(Tensors.Wrap(magnitudes, channels, frames, bins), Tensors.Wrap(phase, channels, frames, bins))));
        Tensor Spectrum(float[] values) => view_as_complex(Tensors.Wrap(values, channels, frames, bins, 2)).transpose(1, 2);
        for (int i = 0; i < iterations; i++)
        {
            using var iteration = NewDisposeScope(); // frees each iteration's spectrograms
            var transformed = Stft(Istft(Spectrum(spectrum), frames));
            Tensors.Wrap(rebuilt, channels, frames, bins, 2).copy_(view_as_real(transformed.transpose(1, 2)));
            Accelerate(rebuilt, previous, magnitudes, spectrum);
            (previous, rebuilt) = (rebuilt, previous);
        }
        using var last = NewDisposeScope();
        return Istft(Spectrum(spectrum), frames).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Fast Griffin-Lim's step, complex values interleaved: the accelerated spectrum (the rebuilt one less 0.99 / 1.99 of
    /// the one before) keeps its angles and takes the target magnitudes, into <paramref name="spectrum"/>.
    /// </summary>
    private static void Accelerate(float[] rebuilt, float[] previous, float[] magnitudes, float[] spectrum)
    {
        const float Momentum = (float)(0.99 / (1 + 0.99)), Tiny = 1e-16f;
        int count = magnitudes.Length, parts = Math.Min(Environment.ProcessorCount, 4);
        Parallel.For(0, parts, p =>
        {
            int i = (int)((long)count * p / parts), to = (int)((long)count * (p + 1) / parts);
            if (Vector256.IsHardwareAccelerated)
            {
                // Four complex values at a time: each pair's squares summed across the pair, each magnitude twice.
                var neighbours = Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6);
                var twice = Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3);
                for (; i + 4 <= to; i += 4)
                {
                    var a = Vector256.Create(rebuilt, 2 * i) - Momentum * Vector256.Create(previous, 2 * i);
                    var squares = a * a;
                    var modulus = Vector256.Sqrt(squares + Vector256.Shuffle(squares, neighbours));
                    var magnitude = Vector256.Shuffle(Vector128.Create(magnitudes, i).ToVector256(), twice);
                    (a * (magnitude / (modulus + Vector256.Create(Tiny)))).CopyTo(spectrum, 2 * i);
                }
            }
            for (; i < to; i++)
            {
                float re = rebuilt[2 * i] - Momentum * previous[2 * i], im = rebuilt[2 * i + 1] - Momentum * previous[2 * i + 1];
                float scale = magnitudes[i] / (MathF.Sqrt(re * re + im * im) + Tiny);
                spectrum[2 * i] = re * scale;
                spectrum[2 * i + 1] = im * scale;
            }
        });
    }

    /// <summary>
    /// Griffin-Lim's starting phase [C, F, B], from the magnitudes [C, F, B] alone: a phase vocoder with phase locking (Laroche and
    /// Dolson 1999). Each spectral peak advances by its own frequency over a hop (the centre found by a parabola through
    /// the log magnitudes of the peak and its neighbours); the bins nearer that peak than any other follow it, a half
    /// turn apart from bin to bin as a centred window's transform is. <paramref name="first"/> [C, B] is the first frame's
    /// phase (locking the first frame to its peaks as well rebuilt a steady tone worse: -20 dB against -26). After one
    /// iteration from it real music is at -17.8 dB of spectral convergence, against -8.6 from a random phase
    /// (SpectralTransformTests).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // optimised from the first call (a cold generate: 1.4 s against 1.5 s without)
    private float[] LockedPhase(float[] magnitudes, int channels, int bins, int frames, float[] first)
    {
        var logs = new float[magnitudes.Length];   // [C, F, B]
        TensorPrimitives.Add(magnitudes, 1e-12f, logs);
        TensorPrimitives.Log(logs, logs);
        var phase = new float[logs.Length];
        double advance = 2 * Math.PI * Settings.Hop / Settings.FrameSize, turn = 2 * Math.PI;
        var peaks = new List<int>();
        for (int c = 0; c < channels; c++)
        {
            for (int f = 0; f < frames; f++)
            {
                var row = logs.AsSpan((c * frames + f) * bins, bins);
                var now = phase.AsSpan((c * frames + f) * bins, bins);
                if (f == 0)
                {
                    first.AsSpan(c * bins, bins).CopyTo(now);
                    continue;
                }
                var before = phase.AsSpan((c * frames + f - 1) * bins, bins);
                peaks.Clear();
                for (int b = 1; b + 1 < bins; b++)
                    if (row[b] > row[b - 1] && row[b] >= row[b + 1]) peaks.Add(b);
                if (peaks.Count == 0)
                {
                    for (int b = 0; b < bins; b++) now[b] = (float)((before[b] + advance * b) % turn);
                    continue;
                }
                for (int i = 0; i < peaks.Count; i++)
                {
                    int p = peaks[i];
                    double left = row[p - 1], top = row[p], right = row[p + 1];
                    double curvature = left - 2 * top + right;
                    double offset = curvature < 0 ? Math.Clamp(0.5 * (left - right) / curvature, -0.5, 0.5) : 0;
                    double peakPhase = (before[p] + advance * (p + offset)) % turn;
                    int from = i == 0 ? 0 : (peaks[i - 1] + p) / 2 + 1, to = i + 1 == peaks.Count ? bins : (p + peaks[i + 1]) / 2 + 1;
                    // Bins an even count from the peak share its phase, the others are half a turn on.
                    float even = (float)peakPhase, odd = (float)((peakPhase + Math.PI) % turn);
                    for (int b = from; b < to; b++) now[b] = ((b - p) & 1) == 0 ? even : odd;
                }
            }
        }
        return phase;
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

/// <summary>Where Griffin-Lim starts its phase.</summary>
public enum PhaseStart
{
    /// <summary>A phase vocoder locked to the spectral peaks, from a random first frame (the default).</summary>
    Locked,

    /// <summary>A random phase in every bin and frame (Griffin and Lim's own start).</summary>
    Random,
}
