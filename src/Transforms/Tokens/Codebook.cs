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

    private Codebook(int bins, int bands, float[] pooling, float[] bandMean, float[] bandStd, float[] centroids, float[] decodeFrames,
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

    /// <summary>
    /// Learns a codebook of <paramref name="size"/> tokens from log-magnitude frames, one array per file
    /// ([frames, <paramref name="bins"/>] row-major). At most <paramref name="maxClusteringFrames"/> frames, picked at
    /// random, are clustered; every frame is counted.
    /// </summary>
    /// <exception cref="InvalidOperationException">There are fewer frames than tokens.</exception>
    public static Codebook Fit(IReadOnlyList<float[]> files, int bins, int sampleRate, int size, int bands = 64, int seed = 1,
        int iterations = 25, int maxClusteringFrames = 100_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(bands, 1);
        int frameSize = (bins - 1) * 2;
        var pool = MelFilters.Triangular(bands, frameSize, sampleRate);
        long total = files.Sum(f => (long)f.Length / bins);
        if (total < size)
            throw new InvalidOperationException($"There are {total} frames to learn {size} tokens from; give more audio or fewer tokens.");
        var rng = new Random(seed);
        var picked = Enumerable.Range(0, (int)Math.Min(total, int.MaxValue)).ToArray();
        rng.Shuffle(picked);
        int n = Math.Min(picked.Length, maxClusteringFrames);
        Array.Sort(picked, 0, n);
        var frameAt = new List<(float[] File, int Index)>(n);
        {
            int file = 0;
            long offset = 0;
            foreach (int p in picked.AsSpan(0, n))
            {
                while (p >= offset + files[file].Length / bins) offset += files[file++].Length / bins;
                frameAt.Add((files[file], (int)(p - offset)));
            }
        }
        var raw = new Codebook(bins, bands, pool, new float[bands], Enumerable.Repeat(1f, bands).ToArray(), new float[bands], new float[bins], [0], 0);
        var described = new float[(long)n * bands];
        for (int i = 0; i < n; i++)
            raw.Describe(frameAt[i].File.AsSpan(frameAt[i].Index * bins, bins), described.AsSpan(i * bands, bands));
        var mean = new float[bands];
        var std = new float[bands];
        for (int b = 0; b < bands; b++)
        {
            double s = 0, q = 0;
            for (int i = 0; i < n; i++) s += described[(long)i * bands + b];
            double m = s / n;
            for (int i = 0; i < n; i++) q += Math.Pow(described[(long)i * bands + b] - m, 2);
            mean[b] = (float)m;
            std[b] = (float)Math.Max(Math.Sqrt(q / n), 1e-3);
        }
        for (long i = 0; i < described.Length; i++) described[i] = (described[i] - mean[i % bands]) / std[i % bands];

        var (centres, members) = KMeans(described, n, bands, size, iterations, rng);
        // Decode each token as its medoid: the clustered frame nearest the centroid.
        var decode = new float[size * bins];
        for (int k = 0; k < size; k++)
            frameAt[members[k]].File.AsSpan(frameAt[members[k]].Index * bins, bins).CopyTo(decode.AsSpan(k * bins, bins));
        var untallied = new Codebook(bins, bands, pool, mean, std, centres, decode, new long[size], 0);

        var counts = new long[size];
        long repeats = 0, pairs = 0;
        var holds = new List<int>();
        foreach (var file in files)
        {
            var tokens = untallied.Encode(file);
            int run = 0;
            for (int t = 0; t < tokens.Length; t++)
            {
                counts[tokens[t]]++;
                run++;
                if (t + 1 == tokens.Length || tokens[t + 1] != tokens[t])
                {
                    holds.Add(run);
                    run = 0;
                }
                if (t == 0) continue;
                pairs++;
                if (tokens[t] == tokens[t - 1]) repeats++;
            }
        }
        holds.Sort();
        int longest = holds.Count == 0 ? 1 : holds[Math.Min(holds.Count - 1, (int)(0.99 * holds.Count))];
        return new Codebook(bins, bands, pool, mean, std, centres, decode, counts, pairs == 0 ? 0 : (double)repeats / pairs, longest);
    }

    /// <summary>k-means++ seeding and Lloyd iterations; returns the centroids and, per centroid, its nearest point.</summary>
    private static (float[] Centres, int[] Medoids) KMeans(float[] points, int n, int dims, int k, int iterations, Random rng)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Tensors.Wrap(points, n, dims);
        var squared = x.square().sum(1L);
        var chosen = new List<long> { rng.Next(n) };
        var nearest = (x - x[chosen[0]]).square().sum(1L);
        while (chosen.Count < k)
        {
            var weights = Tensors.ToArray(nearest);
            double sum = weights.Sum(w => (double)w), r = rng.NextDouble() * sum, acc = 0;
            int next = 0;
            for (; next < n - 1; next++)
            {
                acc += weights[next];
                if (acc >= r && weights[next] > 0) break;
            }
            chosen.Add(next);
            using var step = NewDisposeScope();
            var updated = minimum(nearest, (x - x[next]).square().sum(1L)).MoveToOuterDisposeScope();
            nearest.Dispose();
            nearest = updated;
        }
        var centres = x.index_select(0, tensor(chosen.ToArray())).clone();
        var assignment = zeros(n, dtype: ScalarType.Int64);
        using Scalar one = 1, minusTwo = -2;
        for (int it = 0; it < iterations; it++)
        {
            using var step = NewDisposeScope();
            var distances = matmul(x, centres.t()).mul(minusTwo).add(squared.unsqueeze(1)).add(centres.square().sum(1L).unsqueeze(0));
            var next = distances.argmin(1L);
            bool stable = it > 0 && next.eq(assignment).all().item<bool>();
            assignment.copy_(next);
            var sums = zeros(k, dims).index_add_(0, next, x, one);
            var sizes = zeros(k).index_add_(0, next, ones(n), one);
            var filled = sizes.ge(one).unsqueeze(1);
            centres.copy_(where(filled, sums / sizes.clamp_min(one).unsqueeze(1), centres));
            if (stable) break;
        }
        var finalDistances = matmul(x, centres.t()).mul(minusTwo).add(squared.unsqueeze(1)).add(centres.square().sum(1L).unsqueeze(0));
        var medoids = finalDistances.argmin(0L).data<long>().Select(i => (int)i).ToArray();
        return (Tensors.ToArray(centres), medoids);
    }

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
