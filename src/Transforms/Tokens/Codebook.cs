using MusicGen.Transforms.Spectral;
using TorchSharp;
using static TorchSharp.torch;
using MusicGen.Transforms.Torch;

namespace MusicGen.Transforms.Tokens;

/// <summary>
/// A learned vocabulary of spectral frames. Each log-magnitude frame is described by its standardised log-mel band
/// energies and encoded as the nearest of K centroids found by k-means (k-means++ seeding, Lloyd iterations, in
/// TorchSharp); a token decodes to the real training frame nearest its centroid (its medoid), because averaged spectra
/// smear harmonics into noise. A token may also keep other real training frames of its own (its members), which
/// generation chooses among so that a change of token can keep the notes sounding (<see cref="EnvelopeLstm"/>). Also
/// keeps the training tokens' frequencies and how often a token repeats, the two baselines a next-token model must beat.
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
    private readonly float[] otherMembers; // [K, M - 1, bins]: members 1..M-1 (member 0 is the medoid)

    internal Codebook(int bins, int bands, float[] pooling, float[] bandMean, float[] bandStd, float[] centroids, float[] decodeFrames,
        long[] counts, double repeatRate, int longestHold = 0, int membersPerToken = 1, float[]? otherMembers = null)
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
        this.otherMembers = otherMembers ?? [];
        if (membersPerToken < 1 || this.otherMembers.Length != (long)TokenCount * (membersPerToken - 1) * bins)
            throw new InvalidDataException("The codebook's members do not fit it.");
        MembersPerToken = membersPerToken;
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

    /// <summary>Real training frames kept per token (M, at least 1): member 0 is the medoid, the others were drawn at random from the token's frames.</summary>
    public int MembersPerToken { get; }

    /// <summary>Member <paramref name="m"/> (0 to M-1) of <paramref name="token"/>, a log-magnitude frame.</summary>
    public ReadOnlySpan<float> Member(int token, int m)
    {
        if ((uint)token >= (uint)TokenCount || (uint)m >= (uint)MembersPerToken)
            throw new ArgumentOutOfRangeException(nameof(m), $"Member {m} of token {token}: the codebook has {TokenCount} tokens of {MembersPerToken} members.");
        return m == 0 ? decodeFrames.AsSpan(token * Bins, Bins) : otherMembers.AsSpan((token * (MembersPerToken - 1) + m - 1) * Bins, Bins);
    }

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

    /// <summary>Writes the codebook (its members after the rest, at half precision: they are kept at it).</summary>
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
        w.Write(MembersPerToken);
        foreach (var v in otherMembers) w.Write((Half)v);
    }

    /// <summary>
    /// Reads a codebook written by <see cref="Save"/>; without <paramref name="membersSaved"/> (written before tokens had
    /// members), each token has only its medoid.
    /// </summary>
    /// <exception cref="InvalidDataException">The sizes are implausible.</exception>
    public static Codebook Load(BinaryReader r, bool membersSaved = true)
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
        double repeatRate = r.ReadDouble();
        int longestHold = r.ReadInt32(), members = membersSaved ? r.ReadInt32() : 1;
        if (members < 1 || members > 256)
            throw new InvalidDataException($"The model's codebook is damaged ({members} members a token).");
        var others = new float[(long)size * (members - 1) * bins];
        for (long i = 0; i < others.Length; i++) others[i] = (float)r.ReadHalf();
        return new Codebook(bins, bands, pooling, mean, std, centres, decode, counts, repeatRate, longestHold, members, others);
    }
}
