using System.Numerics.Tensors;
using MusicGen.Transforms.Network;
using MusicGen.Transforms.Spectral;

namespace MusicGen.Transforms.Tokens;

/// <summary>
/// The codec's envelope channel. A token decodes to an exemplar frame, real training audio with the right spectral
/// shape but another piece's notes; each frame also carries its envelope on <see cref="MelEnvelope.Bands"/> mel bands
/// (896 by default, at least a bin apart: at 22050 Hz and 2048-sample frames one per bin up to 5.8 kHz, where they spell
/// the partials), kept as the residual against its exemplar's own
/// envelope, and the exemplar is reshaped by it. <see cref="Residuals(ReadOnlySpan{float}, IReadOnlyList{int})"/>
/// analyses real frames (what <c>reconstruct</c> plays); when generating, there are only tokens, and a small LSTM
/// continues the envelope: fed each frame's token and the previous frame's residual, it predicts this frame's residual
/// (its mean; no noise is drawn), primed on the real envelopes of the seed's last <see cref="PrimeFrames"/> frames.
/// Rendering plays each generated frame on its token's medoid, or where the codebook keeps members, on the member
/// that best continues the partials before it; shaped <see cref="ShapingPasses"/> times, no band above the loudest exemplar's. It runs here in plain loops (one LSTM cell,
/// gates in PyTorch's order i, f, g, o), a few hundred thousand multiply-adds a frame; it is fitted by
/// <c>EnvelopeFitting</c> with TorchSharp's LSTM and its weights are copied in.
/// </summary>
public sealed class EnvelopeLstm
{
    /// <summary>Frames of the prime the network reads before continuing (about 3 s at hop 512 and 22050 Hz).</summary>
    public const int PrimeFrames = 128;

    /// <summary>Residuals are clamped to this many log-magnitude units (natural log; 6 is about 52 dB) either way.</summary>
    public const float Bound = 6;

    private readonly Codebook codebook;
    private readonly float[] exemplarEnergies; // [tokens, bands]
    private readonly float[] ceiling;          // [bands]: the loudest exemplar's energy in each band
    private readonly float[] embedding;        // [tokens, E]
    private readonly float[] inputWeights;     // [4H, E + B]
    private readonly float[] hiddenWeights;    // [4H, H]
    private readonly float[] inputBias;        // [4H]
    private readonly float[] hiddenBias;       // [4H]
    private readonly float[] headWeights;      // [B, H]
    private readonly float[] headBias;         // [B]
    private readonly float[] tokenGates;       // [tokens, 4H]: each token's embedding through its input weights, plus both biases
    private readonly float[] stepWeights;      // [4H, B + H]: the residual's input weights, then the hidden weights

    /// <summary>Wraps fitted weights (TorchSharp's Embedding, LSTM and Linear layouts, row-major).</summary>
    /// <exception cref="InvalidDataException">The tables do not fit together.</exception>
    public EnvelopeLstm(Codebook codebook, MelEnvelope envelope, int embeddingSize, int hiddenSize, float[] embedding, float[] inputWeights,
        float[] hiddenWeights, float[] inputBias, float[] hiddenBias, float[] headWeights, float[] headBias)
    {
        int b = envelope.Bands, h = hiddenSize, e = embeddingSize, k = codebook.TokenCount;
        if (envelope.Bins != codebook.Bins || e < 1 || h < 1 || embedding.Length != k * e || inputWeights.Length != 4 * h * (e + b)
            || hiddenWeights.Length != 4 * h * h || inputBias.Length != 4 * h || hiddenBias.Length != 4 * h || headWeights.Length != b * h || headBias.Length != b)
            throw new InvalidDataException("The envelope network's tables do not fit together.");
        this.codebook = codebook;
        Envelope = envelope;
        EmbeddingSize = e;
        HiddenSize = h;
        this.embedding = embedding;
        this.inputWeights = inputWeights;
        this.hiddenWeights = hiddenWeights;
        this.inputBias = inputBias;
        this.hiddenBias = hiddenBias;
        this.headWeights = headWeights;
        this.headBias = headBias;
        exemplarEnergies = ExemplarEnergies(codebook, envelope);
        members = new(MemberTables);
        ceiling = new float[b];
        Array.Fill(ceiling, float.NegativeInfinity);
        for (int t = 0; t < k; t++)
            for (int j = 0; j < b; j++) ceiling[j] = Math.Max(ceiling[j], exemplarEnergies[t * b + j]);
        tokenGates = new float[k * 4 * h];
        stepWeights = new float[4 * h * (b + h)];
        for (int g = 0; g < 4 * h; g++)
        {
            var row = inputWeights.AsSpan(g * (e + b), e + b);
            row[e..].CopyTo(stepWeights.AsSpan(g * (b + h), b));
            hiddenWeights.AsSpan(g * h, h).CopyTo(stepWeights.AsSpan(g * (b + h) + b, h));
            for (int t = 0; t < k; t++)
                tokenGates[t * 4 * h + g] = TensorPrimitives.Dot(row[..e], embedding.AsSpan(t * e, e)) + inputBias[g] + hiddenBias[g];
        }
    }

    /// <summary>The mel bands the envelope is kept on.</summary>
    public MelEnvelope Envelope { get; }

    /// <summary>Size of a token's embedding (E).</summary>
    public int EmbeddingSize { get; }

    /// <summary>LSTM hidden size (H).</summary>
    public int HiddenSize { get; }

    /// <summary>Each token's exemplar's band energies [tokens, bands], row-major.</summary>
    public static float[] ExemplarEnergies(Codebook codebook, MelEnvelope envelope) =>
        envelope.Energies(codebook.Decode(Enumerable.Range(0, codebook.TokenCount).ToArray()));

    /// <summary>
    /// What the envelope channel carries for real frames ([frames, bins] row-major) and their tokens: each frame's band
    /// energies less its token's exemplar's, clamped to ±<see cref="Bound"/> ([frames, bands] row-major).
    /// </summary>
    public float[] Residuals(ReadOnlySpan<float> frames, IReadOnlyList<int> tokens) => Residuals(Envelope, exemplarEnergies, frames, tokens);

    /// <summary>The same, with the exemplars' energies given (see <see cref="ExemplarEnergies"/>).</summary>
    public static float[] Residuals(MelEnvelope envelope, float[] exemplarEnergies, ReadOnlySpan<float> frames, IReadOnlyList<int> tokens)
    {
        int bands = envelope.Bands;
        if (frames.Length != tokens.Count * envelope.Bins)
            throw new ArgumentException($"{frames.Length / envelope.Bins} frames and {tokens.Count} tokens.", nameof(tokens));
        var result = envelope.Energies(frames);
        for (int t = 0; t < tokens.Count; t++)
        {
            var exemplar = exemplarEnergies.AsSpan(tokens[t] * bands, bands);
            var row = result.AsSpan(t * bands, bands);
            for (int b = 0; b < bands; b++) row[b] = Math.Clamp(row[b] - exemplar[b], -Bound, Bound);
        }
        return result;
    }

    /// <summary>
    /// Shaping passes per frame. Neighbouring filters overlap, so one pass leaves part of the difference (about a quarter
    /// on smooth spectra); each pass measures the frame again and shapes by what is left. On hyperrogue's reference,
    /// with the envelope sent exactly: codec transparency 0.38 with one pass, 0.33 with two, 0.30 with three (128 bands);
    /// on its other composer's reference, 768 bands and 16 phase iterations, 0.30 with three, 0.25 with eight, 0.26 with
    /// 24, for 0.02 s more on a 20 s take (docs/evaluation.md, "Phase iterations for the codec").
    /// </summary>
    public const int ShapingPasses = 8;

    /// <summary>
    /// The tokens' exemplars, each reshaped to its exemplar's envelope plus its frame's residual ([tokens, bins]
    /// row-major). With <paramref name="capped"/> (residuals the network predicted) no band goes above the loudest
    /// exemplar's in that band: the ceiling keeps a generated envelope that drifts upward from clipping (the exemplars
    /// are real training frames). Residuals analysed from real frames (<see cref="Residuals(ReadOnlySpan{float}, IReadOnlyList{int})"/>)
    /// cannot drift and are rendered as they are: music louder in some band than the training's loudest frame keeps
    /// that band (on hyperrogue-music's other composer's reference, codec transparency 0.47 against 0.68 capped).
    /// Given the band energies of the frame <paramref name="before"/> the first (a seed's last), a codebook with members
    /// plays each frame on the member that best continues the partials before it (see <see cref="ChooseMembers"/>);
    /// without, every frame plays its token's medoid.
    /// </summary>
    public float[] Render(IReadOnlyList<int> tokens, ReadOnlySpan<float> residuals, bool capped = true, float[]? before = null)
    {
        int bands = Envelope.Bands, bins = codebook.Bins;
        if (residuals.Length != tokens.Count * bands)
            throw new ArgumentException($"{residuals.Length / bands} residuals for {tokens.Count} tokens.", nameof(residuals));
        if (before is not null && before.Length != bands)
            throw new ArgumentException($"{before.Length} band energies before the first frame; the envelope has {bands} bands.", nameof(before));
        var frames = codebook.Decode(tokens);
        var exemplars = exemplarEnergies;
        if (before is not null && codebook.MembersPerToken > 1)
        {
            // Each frame's own exemplar: a member of its token, not always the medoid.
            (frames, exemplars) = ChooseMembers(tokens, residuals, before, capped ? ceiling : null);
            tokens = Enumerable.Range(0, tokens.Count).ToArray();
        }
        var bounds = capped ? ceiling : Enumerable.Repeat(float.PositiveInfinity, bands).ToArray();
        var all = residuals.ToArray();
        // Frames are independent: shaped in parallel blocks (the result does not depend on how they are split).
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, tokens.Count, 128), range =>
        {
            var gains = new float[bands];
            var target = new float[bands];
            for (int t = range.Item1; t < range.Item2; t++)
            {
                var frame = frames.AsSpan(t * bins, bins);
                var exemplar = exemplars.AsSpan(tokens[t] * bands, bands);
                for (int b = 0; b < bands; b++) target[b] = Math.Min(exemplar[b] + all[t * bands + b], bounds[b]);
                // The exemplar's own envelope is exemplarEnergies: the first gains are the residual (up to the ceiling).
                for (int b = 0; b < bands; b++) gains[b] = target[b] - exemplar[b];
                Envelope.Shape(frame, gains);
                for (int pass = 1; pass < ShapingPasses; pass++)
                {
                    Envelope.Energies(frame, gains);
                    for (int b = 0; b < bands; b++) gains[b] = target[b] - gains[b];
                    Envelope.Shape(frame, gains);
                }
            }
        });
        return frames;
    }

    /// <summary>A band's fine structure is its energy less the mean of the bands within this many of it.</summary>
    private const int FineHalfWidth = 4;

    /// <summary>
    /// Every member's band energies [tokens, M, bands] and its fine structure on the bands that resolve partials
    /// [tokens, M, fine bands], computed on first use.
    /// </summary>
    private readonly Lazy<(float[] Energies, float[] Fine, int FineBands)> members;

    /// <summary>
    /// The partials of a frame, from its band energies: on the bands that resolve single partials, each band's energy less
    /// the mean around it, centred and scaled to unit length (the dot product of two is their correlation).
    /// </summary>
    private static void Fine(ReadOnlySpan<float> energies, Span<float> output)
    {
        int n = output.Length;
        for (int b = 0; b < n; b++)
        {
            int from = Math.Max(0, b - FineHalfWidth), to = Math.Min(n, b + FineHalfWidth + 1);
            output[b] = energies[b] - TensorPrimitives.Sum(energies[from..to]) / (to - from);
        }
        TensorPrimitives.Subtract(output, TensorPrimitives.Sum(output) / n, output);
        float norm = TensorPrimitives.Norm(output);
        if (norm > 0) TensorPrimitives.Divide(output, norm, output);
    }

    private (float[] Energies, float[] Fine, int FineBands) MemberTables()
    {
        int m = codebook.MembersPerToken, k = codebook.TokenCount, bands = Envelope.Bands, fineBands = Envelope.FineBandCount();
        var energies = new float[k * m * bands];
        var fine = new float[k * m * fineBands];
        for (int t = 0; t < k; t++)
            for (int j = 0; j < m; j++)
            {
                int i = t * m + j;
                Envelope.Energies(codebook.Member(t, j), energies.AsSpan(i * bands, bands));
                Fine(energies.AsSpan(i * bands, fineBands), fine.AsSpan(i * fineBands, fineBands));
            }
        return (energies, fine, fineBands);
    }

    /// <summary>
    /// Each frame's exemplar, chosen among its token's members ([frames, bins] and their energies [frames, bands]): a
    /// token held keeps its member; at a change of token, the member whose partials correlate best with those the frame
    /// before was shaped to (<paramref name="before"/>'s energies for the first frame): real music spells one note by
    /// changing tokens that share partials, where medoids change every partial at once. Measured on hyperrogue-music's
    /// laboratories with 8 members (docs/evaluation.md), it lowered the FAD ratio from the training composer's seeds and
    /// raised it from another composer's, and hardly lengthened the partials held; an option left off.
    /// </summary>
    private (float[] Frames, float[] Energies) ChooseMembers(IReadOnlyList<int> tokens, ReadOnlySpan<float> residuals, float[] before, float[]? bounds)
    {
        var (memberEnergies, memberFine, fineBands) = members.Value;
        int m = codebook.MembersPerToken, bands = Envelope.Bands, bins = codebook.Bins;
        var frames = new float[tokens.Count * bins];
        var energies = new float[tokens.Count * bands];
        var shapedTo = (float[])before.Clone();
        var fine = new float[fineBands];
        int chosen = 0;
        for (int t = 0; t < tokens.Count; t++)
        {
            int k = tokens[t];
            if (t == 0 || k != tokens[t - 1])
            {
                Fine(shapedTo.AsSpan(0, fineBands), fine);
                float best = float.NegativeInfinity;
                for (int j = 0; j < m; j++)
                {
                    float score = TensorPrimitives.Dot(fine, memberFine.AsSpan((k * m + j) * fineBands, fineBands));
                    if (score > best) (best, chosen) = (score, j);
                }
            }
            codebook.Member(k, chosen).CopyTo(frames.AsSpan(t * bins, bins));
            var e = memberEnergies.AsSpan((k * m + chosen) * bands, bands);
            e.CopyTo(energies.AsSpan(t * bands, bands));
            for (int b = 0; b < bands; b++) shapedTo[b] = Math.Min(e[b] + residuals[t * bands + b], bounds?[b] ?? float.PositiveInfinity);
        }
        return (frames, energies);
    }

    /// <summary>The frames of a seed's excerpt (log-magnitude, [frames, bins] row-major), for <see cref="Continue"/> to move takes' envelopes toward by <paramref name="share"/>.</summary>
    public SeedFrames SeedFrames(ReadOnlySpan<float> frames, double share)
    {
        var tokens = codebook.Encode(frames);
        return new SeedFrames(tokens, Residuals(frames, tokens), share);
    }

    /// <summary>
    /// Continues the envelope over generated <paramref name="tokens"/>: the network reads the last
    /// <see cref="PrimeFrames"/> of the prime's tokens and real residuals, then predicts each new frame's residual from its token and the residual it predicted before
    /// ([tokens, bands] row-major); where <paramref name="seed"/> is given, each prediction moves toward a seed frame's
    /// residual before the network reads it back.
    /// </summary>
    public float[] Continue(ReadOnlySpan<float> primeFrames, IReadOnlyList<int> primeTokens, IReadOnlyList<int> tokens, SeedFrames? seed = null)
    {
        int bands = Envelope.Bands;
        if (seed is not null && seed.Bands != bands) throw new ArgumentException($"Seed frames of {seed.Bands} bands for an envelope of {bands}.", nameof(seed));
        if (primeFrames.Length != primeTokens.Count * Envelope.Bins)
            throw new ArgumentException($"{primeFrames.Length / Envelope.Bins} prime frames and {primeTokens.Count} prime tokens.", nameof(primeTokens));
        // The network learned on windows of 64 frames: it reads the prime's last PrimeFrames, not more.
        int from = Math.Max(0, primeTokens.Count - PrimeFrames);
        primeTokens = primeTokens.Skip(from).ToArray();
        var primeResiduals = Residuals(primeFrames[(from * Envelope.Bins)..], primeTokens);
        // The cell's input: the previous residual, then h. And c, and the gates.
        var input = new float[bands + HiddenSize];
        var c = new float[HiddenSize];
        var gates = new float[4 * HiddenSize];
        for (int t = 0; t < primeTokens.Count; t++)
        {
            Step(primeTokens[t], input, c, gates);
            primeResiduals.AsSpan(t * bands, bands).CopyTo(input);
        }
        var result = new float[tokens.Count * bands];
        int followed = -1; // the seed frame the frame before followed
        for (int t = 0; t < tokens.Count; t++)
        {
            Step(tokens[t], input, c, gates);
            RowProducts.Compute(headWeights, bands, HiddenSize, headBias, 0, input, bands, 1, result, t * bands);   // from h
            var output = result.AsSpan(t * bands, bands);
            for (int b = 0; b < bands; b++) output[b] = Math.Clamp(output[b], -Bound, Bound);
            if (seed is not null && (followed = seed.Choose(followed, tokens[t], output)) >= 0) seed.Mix(followed, output);
            output.CopyTo(input);
        }
        return result;
    }

    /// <summary>One LSTM cell step in place: the gates from the token and the input (previous residual, h); then c and h.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Step(int token, float[] input, Span<float> c, float[] gates)
    {
        int size = HiddenSize, width = input.Length;
        RowProducts.Compute(stepWeights, 4 * size, width, tokenGates, token * 4 * size, input, 0, 1, gates, 0);
        var h = input.AsSpan(width - size);
        for (int j = 0; j < size; j++)
        {
            float i = Sigmoid(gates[j]), f = Sigmoid(gates[size + j]), u = MathF.Tanh(gates[2 * size + j]), o = Sigmoid(gates[3 * size + j]);
            c[j] = f * c[j] + i * u;
            h[j] = o * MathF.Tanh(c[j]);
        }
    }

    private static float Sigmoid(float x) => 1 / (1 + MathF.Exp(-x));

    /// <summary>Writes the envelope channel (its bands, frame size and band layout, then the weights).</summary>
    public void Save(BinaryWriter w)
    {
        w.Write(Envelope.Bands);
        w.Write(Envelope.FrameSize);
        w.Write(Envelope.SampleRate);
        w.Write(EmbeddingSize);
        w.Write(HiddenSize);
        w.Write(Envelope.BinFloored);
        foreach (var table in new[] { embedding, inputWeights, hiddenWeights, inputBias, hiddenBias, headWeights, headBias })
            foreach (var v in table) w.Write(v);
    }

    /// <summary>
    /// Reads an envelope channel written by <see cref="Save"/> for <paramref name="codebook"/>; without
    /// <paramref name="layoutSaved"/> (written before the layout was), its bands are plain mel bands.
    /// </summary>
    /// <exception cref="InvalidDataException">The sizes are implausible.</exception>
    public static EnvelopeLstm Load(BinaryReader r, Codebook codebook, bool layoutSaved = true)
    {
        int bands = r.ReadInt32(), frameSize = r.ReadInt32(), sampleRate = r.ReadInt32(), e = r.ReadInt32(), h = r.ReadInt32();
        bool binFloored = layoutSaved && r.ReadBoolean();
        if (bands < 1 || bands > 4096 || frameSize / 2 + 1 != codebook.Bins || sampleRate < 1 || e < 1 || e > 4096 || h < 1 || h > 4096)
            throw new InvalidDataException($"The model's envelope channel is damaged ({bands} bands, frames of {frameSize}, {e} x {h}).");
        float[] Read(long count)
        {
            var a = new float[count];
            for (long i = 0; i < count; i++) a[i] = r.ReadSingle();
            return a;
        }
        int k = codebook.TokenCount;
        return new EnvelopeLstm(codebook, new MelEnvelope(bands, frameSize, sampleRate, binFloored), e, h, Read((long)k * e), Read(4L * h * (e + bands)),
            Read(4L * h * h), Read(4L * h), Read(4L * h), Read((long)bands * h), Read(bands));
    }
}
