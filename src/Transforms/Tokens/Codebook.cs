using MusicGen.Transforms.Spectral;
using TorchSharp;
using static TorchSharp.torch;
using MusicGen.Transforms.Torch;

namespace MusicGen.Transforms.Tokens;

/// <summary>
/// A learned vocabulary of spectral frames. Each log-magnitude frame is described by its standardised log-mel band
/// energies and encoded as the nearest of K centroids found by k-means (k-means++ seeding, Lloyd iterations, in
/// TorchSharp); a token decodes to the real training frame nearest its centroid (its medoid), because averaged spectra
/// smear harmonics into noise. Also keeps the training tokens' frequencies and how often a token repeats, the two
/// baselines a next-token model must beat.
/// </summary>
public sealed class Codebook
{
    private const double PowerFloor = 1e-10;
    private readonly float[] pooling;      // [bands, bins] triangular mel filters
    private readonly (int From, int To)[] bandRanges;
    private readonly float[] bandMean;
    private readonly float[] bandStd;
    private readonly float[] centroids;    // [K, bands]
    private readonly float[] centroidNorms;
    private readonly float[] decodeFrames; // [K, bins]

    internal Codebook(int bins, int bands, float[] pooling, float[] bandMean, float[] bandStd, float[] centroids, float[] decodeFrames,
        long[] counts, double repeatRate, int longestHold = 0)
    {
        Bins = bins;
        Bands = bands;
        TokenCount = centroids.Length / bands;
        if (pooling.Length != bands * bins || bandMean.Length != bands || bandStd.Length != bands || centroids.Length != TokenCount * bands
            || decodeFrames.Length != TokenCount * bins || counts.Length != TokenCount || TokenCount < 1)
            throw new InvalidDataException("The codebook's tables do not fit together.");
        this.pooling = pooling;
        this.bandMean = bandMean;
        this.bandStd = bandStd;
        this.centroids = centroids;
        this.decodeFrames = decodeFrames;
        Frequencies = counts;
        RepeatRate = repeatRate;
        LongestHold = longestHold;
        bandRanges = new (int, int)[bands];
        for (int b = 0; b < bands; b++)
        {
            var row = pooling.AsSpan(b * bins, bins);
            int from = row.IndexOfAnyExcept(0f), to = row.LastIndexOfAnyExcept(0f) + 1;
            bandRanges[b] = from < 0 ? (0, 0) : (from, to);
        }
        centroidNorms = new float[TokenCount];
        for (int k = 0; k < TokenCount; k++) centroidNorms[k] = Dot(centroids.AsSpan(k * bands, bands), centroids.AsSpan(k * bands, bands));
    }

    /// <summary>Values per log-magnitude frame (N/2+1).</summary>
    public int Bins { get; }

    /// <summary>Mel bands that describe a frame for clustering.</summary>
    public int Bands { get; }

    /// <summary>Tokens (K).</summary>
    public int TokenCount { get; }

    /// <summary>What each token sounds like: its centroid's standardised log-mel bands [tokens, bands], row-major (a copy).</summary>
    public float[] Descriptors() => (float[])centroids.Clone();

    /// <summary>How many training frames each token got.</summary>
    public IReadOnlyList<long> Frequencies { get; }

    /// <summary>Share of consecutive training frames (within a file) with the same token.</summary>
    public double RepeatRate { get; }

    /// <summary>How many frames the training music holds one token at most, leaving out the longest 1% of holds.</summary>
    public int LongestHold { get; }

    /// <summary>Writes the standardised log-mel description of one log-magnitude frame into <paramref name="output"/>.</summary>
    public void Describe(ReadOnlySpan<float> frame, Span<float> output)
    {
        for (int b = 0; b < Bands; b++)
        {
            var (from, to) = bandRanges[b];
            double power = PowerFloor;
            var weights = pooling.AsSpan(b * Bins, Bins);
            for (int i = from; i < to; i++) power += weights[i] * Math.Exp(2.0 * frame[i]);
            output[b] = (float)((Math.Log(power) - bandMean[b]) / bandStd[b]);
        }
    }

    /// <summary>The token of one log-magnitude frame: the nearest centroid.</summary>
    public int EncodeFrame(ReadOnlySpan<float> frame)
    {
        Span<float> z = stackalloc float[Bands];
        Describe(frame, z);
        int best = 0;
        float bestDistance = float.PositiveInfinity;
        for (int k = 0; k < TokenCount; k++)
        {
            float d = centroidNorms[k] - 2 * Dot(z, centroids.AsSpan(k * Bands, Bands));
            if (d < bestDistance)
            {
                bestDistance = d;
                best = k;
            }
        }
        return best;
    }

    /// <summary>The tokens of consecutive frames ([frames, bins] row-major).</summary>
    public int[] Encode(ReadOnlySpan<float> frames)
    {
        var tokens = new int[frames.Length / Bins];
        for (int t = 0; t < tokens.Length; t++) tokens[t] = EncodeFrame(frames.Slice(t * Bins, Bins));
        return tokens;
    }

    /// <summary>The log-magnitude frames of <paramref name="tokens"/> ([tokens, bins] row-major).</summary>
    public float[] Decode(IReadOnlyList<int> tokens)
    {
        var frames = new float[(long)tokens.Count * Bins];
        for (int t = 0; t < tokens.Count; t++)
        {
            if ((uint)tokens[t] >= (uint)TokenCount) throw new ArgumentOutOfRangeException(nameof(tokens), $"Token {tokens[t]} is not in a codebook of {TokenCount}.");
            decodeFrames.AsSpan(tokens[t] * Bins, Bins).CopyTo(frames.AsSpan(t * Bins, Bins));
        }
        return frames;
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);

    /// <summary>Writes the codebook.</summary>
    public void Save(BinaryWriter w)
    {
        w.Write(Bins);
        w.Write(Bands);
        w.Write(TokenCount);
        foreach (var table in new[] { pooling, bandMean, bandStd, centroids, decodeFrames })
            foreach (var v in table) w.Write(v);
        foreach (var c in Frequencies) w.Write(c);
        w.Write(RepeatRate);
        w.Write(LongestHold);
    }

    /// <summary>Reads a codebook written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The sizes are implausible.</exception>
    public static Codebook Load(BinaryReader r)
    {
        int bins = r.ReadInt32(), bands = r.ReadInt32(), size = r.ReadInt32();
        if (bins < 2 || bins > 1 << 16 || bands < 1 || bands > 4096 || size < 1 || size > 1 << 20)
            throw new InvalidDataException($"The model's codebook is damaged ({size} tokens, {bands} bands, {bins} bins).");
        float[] Read(long count)
        {
            var a = new float[count];
            for (long i = 0; i < count; i++) a[i] = r.ReadSingle();
            return a;
        }
        var pooling = Read((long)bands * bins);
        var mean = Read(bands);
        var std = Read(bands);
        var centres = Read((long)size * bands);
        var decode = Read((long)size * bins);
        var counts = Enumerable.Range(0, size).Select(_ => r.ReadInt64()).ToArray();
        return new Codebook(bins, bands, pooling, mean, std, centres, decode, counts, r.ReadDouble(), r.ReadInt32());
    }
}
