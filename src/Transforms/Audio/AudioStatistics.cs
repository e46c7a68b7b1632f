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

    /// <summary>Measures a clip (as one block of <see cref="Accumulator"/>).</summary>
    public static AudioStatistics Measure(AudioClip clip)
    {
        ArgumentNullException.ThrowIfNull(clip);
        var accumulator = new Accumulator();
        accumulator.Add(clip.Channels, clip.Length, clip.SampleRate);
        return accumulator.Result();
    }

    /// <summary>
    /// Measures audio that arrives in blocks (see <see cref="AudioFile.ReadBlocks"/>) with memory that does not grow
    /// with its length: running sums for the levels, 50 ms windows and 2048-sample STFT frames carried across blocks,
    /// and two numbers per frame for the centroid (which needs the loudest frame before it can skip the silent ones).
    /// Gives what <see cref="Measure"/> gives for the whole clip.
    /// </summary>
    public sealed class Accumulator
    {
        private const int N = 2048, Hop = 512;
        private double peak, sumSquares;
        private long clipped, count, frames;
        private double[] channelSums = [];
        private int rate;
        private int window;
        private double windowSum;
        private int windowFill, windows, silentWindows;
        private bool anyNonZero;
        private float[] pending = new float[N * 4];
        private int pendingLength;
        private readonly List<float> energies = [];
        private readonly List<float> centroids = [];

        /// <summary>Adds a block of planar samples.</summary>
        public void Add(float[][] block, int length, int sampleRate)
        {
            ArgumentNullException.ThrowIfNull(block);
            if (rate == 0)
            {
                rate = sampleRate;
                window = Math.Max(1, rate / 20);
                channelSums = new double[block.Length];
            }
            for (int c = 0; c < block.Length; c++)
            {
                double sum = 0;
                var channel = block[c].AsSpan(0, length);
                foreach (float x in channel)
                {
                    float a = Math.Abs(x);
                    if (a > peak) peak = a;
                    if (a >= ClipLevel) clipped++;
                    sumSquares += (double)x * x;
                    sum += x;
                }
                channelSums[c] += sum;
            }
            count += (long)length * block.Length;
            frames += length;
            if (pendingLength + length > pending.Length) Array.Resize(ref pending, Math.Max(pending.Length * 2, pendingLength + length));
            for (int i = 0; i < length; i++)
            {
                // The mono mix as AudioClip.WithChannels(1) makes it: one channel as is, two averaged, more mixed as stereo first.
                float m = block.Length == 1 ? block[0][i] : block.Length == 2 ? 0.5f * (block[0][i] + block[1][i]) : MixDown(block, i);
                pending[pendingLength + i] = m;
                anyNonZero |= m != 0;
                windowSum += (double)m * m;
                if (++windowFill == window)
                {
                    if (Db(windowSum / window) < -60) silentWindows++;
                    windows++;
                    windowSum = 0;
                    windowFill = 0;
                }
            }
            pendingLength += length;
            Spectrum();
        }

        /// <summary>One frame of more than two channels mixed to mono as <see cref="AudioClip.WithChannels"/> does (ITU weights, LFE dropped).</summary>
        private static float MixDown(float[][] block, int i)
        {
            const float Side = 0.70710677f;
            float centre = block.Length > 2 ? block[2][i] * Side : 0f;
            float bl = block.Length > 4 ? block[4][i] * Side : 0f;
            float br = block.Length > 5 ? block[5][i] * Side : 0f;
            return 0.5f * (block[0][i] + centre + bl + (block[1][i] + centre + br));
        }

        /// <summary>Centroid and energy of every whole STFT frame in the pending samples; keeps what the next frame needs.</summary>
        private void Spectrum()
        {
            if (pendingLength < N) return;
            int whole = (pendingLength - N) / Hop + 1;
            var (energy, centroid) = Centroids(pending.AsSpan(0, (whole - 1) * Hop + N).ToArray(), rate);
            energies.AddRange(energy);
            centroids.AddRange(centroid);
            int consumed = whole * Hop;
            Array.Copy(pending, consumed, pending, 0, pendingLength - consumed);
            pendingLength -= consumed;
        }

        /// <summary>The figures of everything added.</summary>
        public AudioStatistics Result()
        {
            double dc = 0;
            foreach (var sum in channelSums)
            {
                double mean = frames == 0 ? 0 : sum / frames;
                if (Math.Abs(mean) > Math.Abs(dc)) dc = mean;
            }
            double silent = windows == 0 ? anyNonZero ? 0 : 1 : (double)silentWindows / windows;
            var (centroidMean, centroidSpread) = Voiced(energies, centroids);
            return new AudioStatistics(Db(peak * peak), count == 0 ? FloorDb : Db(sumSquares / count), dc,
                count == 0 ? 0 : (double)clipped / count, silent, centroidMean, centroidSpread);
        }
    }

    private static double Db(double power) => power <= 0 ? FloorDb : Math.Max(FloorDb, 10 * Math.Log10(power));

    /// <summary>Per frame of a 2048-sample Hann STFT (hop 512, no padding): the summed magnitude and the centroid in Hz.</summary>
    private static (float[] Energy, float[] Centroid) Centroids(float[] mono, int rate)
    {
        const int N = 2048, Hop = 512;
        using var scope = NewDisposeScope();
        var magnitude = stft(Tensors.Wrap(mono, mono.Length), N, Hop, window: hann_window(N), center: false, return_complex: true).abs(); // [B, F]
        var hz = Enumerable.Range(0, N / 2 + 1).Select(k => (float)k * rate / N).ToArray();
        var frequencies = Tensors.Wrap(hz, N / 2 + 1, 1);
        var total = magnitude.sum(0L);                                     // [F]
        using Scalar tiny = 1e-9;
        var centroid = (magnitude * frequencies).sum(0L).div(total.Plus(tiny));
        return (Tensors.ToArray(total), Tensors.ToArray(centroid));
    }

    /// <summary>Mean and spread of the centroid over frames louder than a thousandth of the loudest (silent frames skipped).</summary>
    private static (double Mean, double Spread) Voiced(IReadOnlyList<float> energy, IReadOnlyList<float> values)
    {
        if (energy.Count == 0) return (0, 0);
        double loudest = energy.Max();
        var voiced = values.Where((_, i) => loudest > 0 && energy[i] > loudest * 1e-3).ToArray();
        if (voiced.Length == 0) return (0, 0);
        double mean = voiced.Average(v => (double)v);
        return (mean, Math.Sqrt(voiced.Average(v => (v - mean) * (v - mean))));
    }
}
