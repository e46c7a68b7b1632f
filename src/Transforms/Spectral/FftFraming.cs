using TorchSharp;
using static TorchSharp.torch;
using MusicGen.Transforms.Torch;

namespace MusicGen.Transforms.Spectral;

/// <summary>
/// The 2017 system's framing: non-overlapping frames of <see cref="FrameSize"/> samples, no window, the full complex
/// FFT of each frame (all N bins) times <see cref="Scale"/>, laid out per frame as
/// <c>[ch0.re (N), ch0.im (N), ch1.re (N), ch1.im (N)]</c>: 4N values for stereo, 2N for mono.
/// The inverse is exact for the same settings (inverse FFT divided by the scale, real part kept).
/// Samples after the last whole frame are dropped. Runs on whole files at once with LibTorch's FFT.
/// </summary>
public sealed class FftFraming
{
    /// <summary>Creates the framing.</summary>
    /// <param name="frameSize">Samples per frame (N); a power of two is fastest.</param>
    /// <param name="scale">Factor applied to the FFT; the original used 1/(N/2). Must not be 0.</param>
    public FftFraming(int frameSize, float scale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frameSize, 2);
        if (scale == 0 || !float.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "Scale must be finite and non-zero.");
        FrameSize = frameSize;
        Scale = scale;
    }

    /// <summary>Samples per frame.</summary>
    public int FrameSize { get; }

    /// <summary>Factor applied to the FFT.</summary>
    public float Scale { get; }

    /// <summary>Values per frame for <paramref name="channels"/> channels (2N per channel).</summary>
    public int FeatureSize(int channels) => channels * 2 * FrameSize;

    /// <summary>Number of whole frames in <paramref name="samples"/> samples per channel.</summary>
    public int FrameCount(int samples) => samples / FrameSize;

    /// <summary>Frames every channel; returns <c>FrameCount * FeatureSize</c> values, frame-major.</summary>
    public float[] Direct(float[][] channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        int c = channels.Length, n = FrameSize, frames = FrameCount(channels[0].Length), bins = n / 2 + 1;
        if (frames == 0) return [];
        var result = GC.AllocateUninitializedArray<float>(frames * FeatureSize(c)); // every value is written below
        float scale = Scale;
        for (int ch = 0; ch < c; ch++)
        {
            using var scope = NewDisposeScope();
            // The real-input FFT is far faster than a complex FFT of real data; the upper bins follow from symmetry.
            var half = view_as_real(fft.rfft(Tensors.Wrap(channels[ch], frames, n), dim: -1)).contiguous(); // [F, B, 2]
            int channel = ch;
            unsafe
            {
                // The tensor's memory stays put while it lives; spread the layout work over the cores.
                IntPtr address;
                fixed (byte* bytes = half.bytes) address = (IntPtr)bytes; // native memory: it does not move
                Parallel.For(0, Environment.ProcessorCount, part =>
                {
                    int first = frames * part / Environment.ProcessorCount, last = frames * (part + 1) / Environment.ProcessorCount;
                    for (int f = first; f < last; f++)
                    {
                        var src = new ReadOnlySpan<float>((float*)address + (long)f * bins * 2, bins * 2);
                        var re = result.AsSpan((f * c + channel) * 2 * n, n);
                        var im = result.AsSpan((f * c + channel) * 2 * n + n, n);
                        for (int k = 0; k < bins; k++)
                        {
                            re[k] = src[2 * k] * scale;
                            im[k] = src[2 * k + 1] * scale;
                        }
                        for (int k = bins; k < n; k++) // X[k] = conj(X[N - k])
                        {
                            re[k] = src[2 * (n - k)] * scale;
                            im[k] = -src[2 * (n - k) + 1] * scale;
                        }
                    }
                });
            }
        }
        return result;
    }

    /// <summary>
    /// Inverts <see cref="Direct"/>: frame-major features back to planar samples (FrameCount * N per channel), as the real
    /// part of the inverse FFT (divided by the scale), like the 2017 code. Vectors that are not conjugate-symmetric (a
    /// network's predictions) give the same samples as that real part: only their symmetric part reaches it.
    /// </summary>
    public float[][] Inverse(ReadOnlySpan<float> features, int channels)
    {
        int n = FrameSize, dim = FeatureSize(channels), bins = n / 2 + 1;
        if (features.Length % dim != 0)
            throw new ArgumentException($"Feature length {features.Length} is not a multiple of the frame size {dim}.", nameof(features));
        int frames = features.Length / dim;
        var result = new float[channels][];
        if (frames == 0)
        {
            for (int ch = 0; ch < channels; ch++) result[ch] = [];
            return result;
        }
        // Re(ifft(X)) = irfft(Y) with Y[k] = (X[k] + conj(X[N - k])) / 2 for k = 0 .. N/2.
        var symmetric = new float[channels * frames * bins * 2];   // [C, F, B, 2]
        float unscale = 0.5f / Scale;
        for (int f = 0; f < frames; f++)
        {
            for (int ch = 0; ch < channels; ch++)
            {
                var re = features.Slice((f * channels + ch) * 2 * n, n);
                var im = features.Slice((f * channels + ch) * 2 * n + n, n);
                var dst = symmetric.AsSpan((ch * frames + f) * bins * 2, bins * 2);
                for (int k = 0; k < bins; k++)
                {
                    int mirror = (n - k) % n;
                    dst[2 * k] = (re[k] + re[mirror]) * unscale;
                    dst[2 * k + 1] = (im[k] - im[mirror]) * unscale;
                }
            }
        }
        using var scope = NewDisposeScope();
        var spectrum = view_as_complex(Tensors.Wrap(symmetric, channels, frames, bins, 2));
        var samples = Tensors.ToArray(fft.irfft(spectrum, n, dim: -1));              // [C, F, N]
        for (int ch = 0; ch < channels; ch++) result[ch] = samples.AsSpan(ch * frames * n, frames * n).ToArray();
        return result;
    }
}
