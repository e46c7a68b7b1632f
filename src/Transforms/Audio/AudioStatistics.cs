using TorchSharp;
using static TorchSharp.torch;
using MusicGen.Transforms.Torch;

namespace MusicGen.Transforms.Audio;

/// <summary>Level and spectrum figures of one clip, as <c>musicgen inspect</c> reports them.</summary>
/// <param name="PeakDbfs">Largest absolute sample, dB re full scale (floored at -120 for digital silence).</param>
/// <param name="RmsDbfs">Root-mean-square level over all channels, dBFS (floored at -120).</param>
/// <param name="DcOffset">Mean sample value of the channel with the largest absolute mean.</param>
/// <param name="ClippedShare">Share of samples at or beyond 0.999 of full scale.</param>
/// <param name="SilentShare">Share of 50 ms windows (mono mix) whose RMS is below -60 dBFS.</param>
/// <param name="CentroidMeanHz">Mean spectral centroid over the non-silent frames (STFT 2048, hop 512, Hann, mono mix).</param>
/// <param name="CentroidSpreadHz">Standard deviation of that centroid over time.</param>
public sealed record AudioStatistics(double PeakDbfs, double RmsDbfs, double DcOffset, double ClippedShare, double SilentShare,
    double CentroidMeanHz, double CentroidSpreadHz)
{
    /// <summary>The floor of the dB figures: digital silence reads as this.</summary>
    public const double FloorDb = -120;

    /// <summary>Level at or beyond which a sample counts as clipped.</summary>
    public const float ClipLevel = 0.999f;

    /// <summary>Measures a clip.</summary>
    public static AudioStatistics Measure(AudioClip clip)
    {
        ArgumentNullException.ThrowIfNull(clip);
        double peak = 0, sumSquares = 0, dc = 0;
        long clipped = 0, count = (long)clip.Length * clip.ChannelCount;
        foreach (var channel in clip.Channels)
        {
            double sum = 0;
            foreach (float x in channel)
            {
                float a = Math.Abs(x);
                if (a > peak) peak = a;
                if (a >= ClipLevel) clipped++;
                sumSquares += (double)x * x;
                sum += x;
            }
            double mean = channel.Length == 0 ? 0 : sum / channel.Length;
            if (Math.Abs(mean) > Math.Abs(dc)) dc = mean;
        }
        var mono = clip.WithChannels(1).Channels[0];
        var (centroidMean, centroidSpread) = Centroid(mono, clip.SampleRate);
        return new AudioStatistics(Db(peak * peak), count == 0 ? FloorDb : Db(sumSquares / count), dc,
            count == 0 ? 0 : (double)clipped / count, SilentWindowShare(mono, clip.SampleRate), centroidMean, centroidSpread);
    }

    private static double Db(double power) => power <= 0 ? FloorDb : Math.Max(FloorDb, 10 * Math.Log10(power));

    private static double SilentWindowShare(float[] mono, int rate)
    {
        int window = Math.Max(1, rate / 20);
        int windows = mono.Length / window;
        if (windows == 0) return mono.All(x => x == 0) ? 1 : 0;
        int silent = 0;
        for (int w = 0; w < windows; w++)
        {
            double sum = 0;
            for (int i = w * window; i < (w + 1) * window; i++) sum += (double)mono[i] * mono[i];
            if (Db(sum / window) < -60) silent++;
        }
        return (double)silent / windows;
    }

    private static (double Mean, double Spread) Centroid(float[] mono, int rate)
    {
        const int N = 2048, Hop = 512;
        if (mono.Length < N) return (0, 0);
        using var scope = NewDisposeScope();
        var magnitude = stft(Tensors.Wrap(mono, mono.Length), N, Hop, window: hann_window(N), center: false, return_complex: true).abs(); // [B, F]
        var hz = Enumerable.Range(0, N / 2 + 1).Select(k => (float)k * rate / N).ToArray();
        var frequencies = Tensors.Wrap(hz, N / 2 + 1, 1);
        var total = magnitude.sum(0L);                                     // [F]
        using Scalar tiny = 1e-9;
        var centroid = (magnitude * frequencies).sum(0L).div(total.add(tiny));
        var energy = Tensors.ToArray(total);
        var values = Tensors.ToArray(centroid);
        double loudest = energy.Max();
        var voiced = values.Where((_, i) => loudest > 0 && energy[i] > loudest * 1e-3).ToArray(); // skip silent frames
        if (voiced.Length == 0) return (0, 0);
        double mean = voiced.Average(v => (double)v);
        return (mean, Math.Sqrt(voiced.Average(v => (v - mean) * (v - mean))));
    }
}
