using TorchSharp;
using static TorchSharp.torch;

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
        int c = channels.Length, n = FrameSize, frames = FrameCount(channels[0].Length);
        if (frames == 0) return [];
        var flat = new float[c * frames * n];
        for (int ch = 0; ch < c; ch++) Array.Copy(channels[ch], 0, flat, ch * frames * n, frames * n);
        using var scope = NewDisposeScope();
        var x = tensor(flat, [c, frames, n]);
        using Scalar scale = Scale; // held until the end: TorchSharp does not keep temporary scalars alive
        var spectrum = view_as_real(fft.fft_(x, dim: -1));            // [C, F, N, 2]
        var arranged = spectrum.permute(1, 0, 3, 2).mul(scale);        // [F, C, 2, N]
        return arranged.contiguous().data<float>().ToArray();
    }

    /// <summary>Inverts <see cref="Direct"/>: frame-major features back to planar samples (FrameCount * N per channel).</summary>
    public float[][] Inverse(ReadOnlySpan<float> features, int channels)
    {
        int n = FrameSize, dim = FeatureSize(channels);
        if (features.Length % dim != 0)
            throw new ArgumentException($"Feature length {features.Length} is not a multiple of the frame size {dim}.", nameof(features));
        int frames = features.Length / dim;
        var result = new float[channels][];
        if (frames == 0)
        {
            for (int ch = 0; ch < channels; ch++) result[ch] = [];
            return result;
        }
        using var scope = NewDisposeScope();
        using Scalar scale = Scale;
        var x = tensor(features.ToArray(), [frames, channels, 2, n]).div(scale);
        var complexFrames = view_as_complex(x.permute(1, 0, 3, 2).contiguous()); // [C, F, N]
        var samples = fft.ifft(complexFrames, dim: -1).real.contiguous().data<float>().ToArray();
        for (int ch = 0; ch < channels; ch++) result[ch] = samples.AsSpan(ch * frames * n, frames * n).ToArray();
        return result;
    }
}
