using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Tokens;
using MusicGen.Transforms.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MusicGen.Estimators.Tokens;

/// <summary>
/// Learns a <see cref="Codebook"/>: describes frames by standardised log-mel band energies, clusters them with k-means
/// (k-means++ seeding, Lloyd iterations, in TorchSharp), decodes each token as its medoid, draws each token's other
/// members, and tallies the training tokens' frequencies, repeat rate and longest holds.
/// </summary>
public static class CodebookFitting
{
    /// <summary>
    /// Learns a codebook of <paramref name="tokenCount"/> tokens from log-magnitude frames, one array per file
    /// ([frames, <paramref name="bins"/>] row-major). At most <paramref name="maxClusteringFrames"/> frames, picked at
    /// random, are clustered; every frame is counted. Each token keeps <paramref name="members"/> real frames: its medoid
    /// and frames drawn uniformly from those it encodes (the medoid again where it encodes too few).
    /// </summary>
    /// <exception cref="InvalidOperationException">There are fewer frames than tokens.</exception>
    public static Codebook Fit(IReadOnlyList<float[]> files, int bins, int sampleRate, int tokenCount, int bands = 64, int seed = 1,
        int iterations = 25, int maxClusteringFrames = 100_000, int members = 1) =>
        Fit(() => files, bins, sampleRate, tokenCount, bands, seed, iterations, maxClusteringFrames, members);

    /// <summary>
    /// The same, reading the files twice through <paramref name="files"/> and holding one file's frames at a time:
    /// the first pass keeps a uniform random sample of at most <paramref name="maxClusteringFrames"/> frames (reservoir
    /// sampling, as their log-mel descriptions), the second counts every frame's token and fetches each token's medoid
    /// and members (reservoir sampling again). Memory follows the sample, the members and the longest file, not the collection.
    /// </summary>
    /// <exception cref="InvalidOperationException">There are fewer frames than tokens.</exception>
    public static Codebook Fit(Func<IEnumerable<float[]>> files, int bins, int sampleRate, int tokenCount, int bands = 64, int seed = 1,
        int iterations = 25, int maxClusteringFrames = 100_000, int members = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenCount, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(members, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bands, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxClusteringFrames, tokenCount);
        int frameSize = (bins - 1) * 2;
        var pool = MelFilters.Triangular(bands, frameSize, sampleRate);
        var rng = new Random(seed);
        var raw = new Codebook(bins, bands, pool, new float[bands], Enumerable.Repeat(1f, bands).ToArray(), new float[bands], new float[bins], [0], 0);

        // Pass 1: a uniform sample of the frames, described by their log-mel bands, with where each came from.
        var described = new float[(long)maxClusteringFrames * bands];
        var origin = new (int File, int Frame)[maxClusteringFrames];
        long total = 0;
        int fileIndex = 0;
        foreach (var file in files())
        {
            int frames = file.Length / bins;
            for (int t = 0; t < frames; t++, total++)
            {
                long slot = total < maxClusteringFrames ? total : rng.NextInt64(total + 1);
                if (slot >= maxClusteringFrames) continue;
                raw.Describe(file.AsSpan(t * bins, bins), described.AsSpan((int)slot * bands, bands));
                origin[slot] = (fileIndex, t);
            }
            fileIndex++;
        }
        if (total < tokenCount)
            throw new InvalidOperationException($"There are {total} frames to learn {tokenCount} tokens from; give more audio or fewer tokens.");
        int n = (int)Math.Min(total, maxClusteringFrames);
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
        for (long i = 0; i < (long)n * bands; i++) described[i] = (described[i] - mean[i % bands]) / std[i % bands];
        var (centres, medoidPoints) = KMeans(described.AsSpan(0, n * bands).ToArray(), n, bands, tokenCount, iterations, rng);
        described = [];

        // Pass 2: every frame's token (counts, repeats, holds), and each token's medoid frame and members copied as they go by.
        var untallied = new Codebook(bins, bands, pool, mean, std, centres, new float[tokenCount * bins], new long[tokenCount], 0);
        var medoidsAt = new Dictionary<(int File, int Frame), List<int>>();
        for (int k = 0; k < tokenCount; k++)
        {
            var at = origin[medoidPoints[k]];
            if (!medoidsAt.TryGetValue(at, out var tokens)) medoidsAt[at] = tokens = [];
            tokens.Add(k);
        }
        var decode = new float[tokenCount * bins];
        int others = members - 1;
        var otherMembers = new float[(long)tokenCount * others * bins];
        var memberRng = new Random(seed + 1); // its own draws: the clustering's are the same with or without members
        var counts = new long[tokenCount];
        long repeats = 0, pairs = 0;
        var holds = new List<int>();
        fileIndex = 0;
        foreach (var file in files())
        {
            int frames = file.Length / bins;
            for (int t = 0; t < frames; t++)
                if (medoidsAt.TryGetValue((fileIndex, t), out var tokensHere))
                    foreach (int k in tokensHere) file.AsSpan(t * bins, bins).CopyTo(decode.AsSpan(k * bins, bins));
            var tokens = untallied.Encode(file);
            int run = 0;
            for (int t = 0; t < tokens.Length; t++)
            {
                if (others > 0)
                {
                    long slot = counts[tokens[t]] < others ? counts[tokens[t]] : memberRng.NextInt64(counts[tokens[t]] + 1);
                    if (slot < others) file.AsSpan(t * bins, bins).CopyTo(otherMembers.AsSpan((int)((tokens[t] * (long)others + slot) * bins), bins));
                }
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
            fileIndex++;
        }
        if (counts.Sum() != total)
            throw new InvalidOperationException($"The frames changed between the codebook's two passes ({total} frames, then {counts.Sum()}).");
        holds.Sort();
        int longest = holds.Count == 0 ? 1 : holds[Math.Min(holds.Count - 1, (int)(0.99 * holds.Count))];
        for (int k = 0; k < tokenCount; k++)
            for (long m = counts[k]; m < others; m++) decode.AsSpan(k * bins, bins).CopyTo(otherMembers.AsSpan((int)((k * (long)others + m) * bins), bins));
        // Kept at the half precision they are saved in (0.14 dB at worst), so that a saved model plays as it did.
        for (long i = 0; i < otherMembers.Length; i++) otherMembers[i] = (float)(Half)otherMembers[i];
        return new Codebook(bins, bands, pool, mean, std, centres, decode, counts, pairs == 0 ? 0 : (double)repeats / pairs, longest, members, otherMembers);
    }

    /// <summary>k-means++ seeding and Lloyd iterations; returns the centroids and, per centroid, its nearest point.</summary>
    private static (float[] Centres, int[] Medoids) KMeans(float[] points, int n, int dims, int k, int iterations, Random rng)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Tensors.Wrap(points, n, dims);
        var squared = x.Squared().sum(1L);
        var chosen = new List<long> { rng.Next(n) };
        var nearest = x.Minus(x[chosen[0]]).Squared().sum(1L);
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
            var updated = minimum(nearest, x.Minus(x[next]).Squared().sum(1L)).MoveToOuterDisposeScope();
            nearest.Dispose();
            nearest = updated;
        }
        var centres = x.index_select(0, tensor(chosen.ToArray())).clone();
        var assignment = zeros(n, dtype: ScalarType.Int64);
        using Scalar one = 1, minusTwo = -2;
        for (int it = 0; it < iterations; it++)
        {
            using var step = NewDisposeScope();
            // In place: the [points, tokens] matrix is the largest thing the fit holds (205 MB for 100 000 x 512).
            var distances = matmul(x, centres.t()).mul_(minusTwo).PlusInPlace(squared.unsqueeze(1)).PlusInPlace(centres.Squared().sum(1L).unsqueeze(0));
            var next = distances.argmin(1L);
            bool stable = it > 0 && next.eq(assignment).all().item<bool>();
            assignment.copy_(next);
            var sums = zeros(k, dims).index_add_(0, next, x, one);
            var sizes = zeros(k).index_add_(0, next, ones(n), one);
            var filled = sizes.ge(one).unsqueeze(1);
            centres.copy_(where(filled, sums / sizes.clamp_min(one).unsqueeze(1), centres));
            if (stable) break;
        }
        var finalDistances = matmul(x, centres.t()).mul_(minusTwo).PlusInPlace(squared.unsqueeze(1)).PlusInPlace(centres.Squared().sum(1L).unsqueeze(0));
        var medoids = finalDistances.argmin(0L).data<long>().Select(i => (int)i).ToArray();
        return (Tensors.ToArray(centres), medoids);
    }

}
