using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using static TorchSharp.torch;

namespace MusicGen.Transforms.Network;

/// <summary>
/// A token model's generation step in plain loops on the CPU: the same outputs as <see cref="FrameLstm"/>'s forward
/// for one step, to float rounding (<c>StepperTests</c>), without LibTorch. At batch 1 a step's forty-odd tensor
/// operations cost more in dispatch than in arithmetic: the LSTM and output layer of the default (2 x 384 units, 512
/// tokens) took 0.42-0.55 ms a step through LibTorch and 0.18 ms as row dot products (docs/design.md). Made by
/// <see cref="FrameLstm.Stepper"/> from the state after priming; it holds its own copy of the weights and the state.
/// </summary>
public sealed class FrameLstmStepper
{
    private readonly int streams, tokenCount, embeddingSize, beatSize;
    private readonly int[] hidden, widths;   // per layer: units, and inputs + units
    private readonly float[][] gateWeights;  // per layer [4H, inputs + H]: input and hidden weights side by side (gates i, f, g, o)
    private readonly float[][] gateBiases;   // per layer [4H]
    private readonly float[] embedding, outputWeight, outputBias;
    private readonly float[]? tokenBias;     // descriptor keys: the output [E] is scored against each token's key
    private readonly float[] cacheGains, unigram;
    private readonly double[] cacheDecays;
    private readonly float? successorGain, onsetGain;
    private readonly float[]? beatGains, beatDescriptors;
    private readonly float backoffWeight, backoffRepeat;
    private readonly int textureBands;                // 0: no texture input
    private readonly bool holdTexture, holdBeat;
    private readonly float[]? textureDescriptors;    // [V, S]: each token's description in the texture's bands
    private readonly float[] texture = [];           // [B, 2S + 1]: the texture's decayed sums and squares, then the weight seen

    private readonly float[][] cells, inputs, gates; // per layer: cell state [B, H], [h below, own h] [B, inputs + H], gates [B, 4H]
    private readonly float[] caches;                 // [J, B, V]
    private readonly float[]? successors;            // [B, V, V]
    private float[] history = [], shifted = [];      // [L, B]
    private readonly float[] moments = [], rates = [], clock = [];
    private readonly int[] recent = [], previous, current, before;
    private readonly float[] top, projected, logits;

    internal FrameLstmStepper((float[] Input, float[] Hidden, float[] Bias)[] layers, int[] hiddenSizes, int embeddingSize,
        float[] embedding, float[] outputWeight, float[] outputBias, float[]? tokenBias, float[] cacheGains, double[] cacheDecays,
        float? successorGain, float[]? beatGains, float[]? beatDescriptors, double backoffWeight, float backoffRepeat, float[] unigram,
        LstmState state, float[]? textureDescriptors = null, bool holdTexture = false, bool holdBeat = false, float? onsetGain = null)
    {
        static float[] Values(Tensor t) => Torch.Tensors.ToArray(t);
        hidden = hiddenSizes;
        this.embeddingSize = embeddingSize;
        this.embedding = embedding;
        this.outputWeight = outputWeight;
        this.outputBias = outputBias;
        this.tokenBias = tokenBias;
        this.cacheGains = cacheGains;
        this.cacheDecays = cacheDecays;
        this.successorGain = successorGain;
        this.onsetGain = onsetGain;
        this.beatGains = beatGains;
        this.beatDescriptors = beatDescriptors;
        this.backoffWeight = (float)backoffWeight;
        this.backoffRepeat = backoffRepeat;
        this.unigram = unigram;
        tokenCount = unigram.Length;
        caches = Values(state.Caches!);
        streams = (int)state.Caches!.shape[1];
        previous = new int[streams];
        current = new int[streams];
        before = new int[streams];
        for (int b = 0; b < streams; b++)
        {
            var row = caches.AsSpan(b * tokenCount, tokenCount); // the decay-0 cache: the last token, one-hot
            previous[b] = row.ContainsAnyExcept(0f) ? TensorPrimitives.IndexOfMax(row) : -1;
        }
        if (successorGain is not null) successors = Values(state.Successors!);
        if (beatGains is not null)
        {
            beatSize = beatDescriptors!.Length / tokenCount;
            history = Values(state.OnsetHistory!);
            shifted = new float[history.Length];
            moments = Values(state.OnsetStatistics!);
            rates = Values(state.BeatRates!);
            clock = new float[streams * FrameLstm.BeatFeatures];
            recent = state.RecentTokens!.cpu().contiguous().data<long>().ToArray().Select(t => (int)t).ToArray();
        }
        this.textureDescriptors = textureDescriptors;
        textureBands = textureDescriptors is null ? 0 : textureDescriptors.Length / tokenCount;
        this.holdTexture = holdTexture;
        this.holdBeat = holdBeat;
        if (textureBands > 0) texture = Values(state.Texture!);
        int below = embeddingSize + (beatGains is null ? 0 : FrameLstm.BeatFeatures) + 2 * textureBands;
        int count = hidden.Length;
        widths = new int[count];
        gateWeights = new float[count][];
        gateBiases = new float[count][];
        cells = new float[count][];
        inputs = new float[count][];
        gates = new float[count][];
        for (int i = 0; i < count; i++)
        {
            int units = hidden[i], width = widths[i] = below + units;
            var w = gateWeights[i] = new float[4 * units * width];
            for (int r = 0; r < 4 * units; r++)
            {
                layers[i].Input.AsSpan(r * below, below).CopyTo(w.AsSpan(r * width));
                layers[i].Hidden.AsSpan(r * units, units).CopyTo(w.AsSpan(r * width + below));
            }
            gateBiases[i] = layers[i].Bias;
            gates[i] = new float[streams * 4 * units];
            cells[i] = Values(state.Layers[i].C);
            inputs[i] = new float[streams * width];
            var h = Values(state.Layers[i].H);
            for (int b = 0; b < streams; b++) h.AsSpan(b * units, units).CopyTo(inputs[i].AsSpan(b * width + below));
            below = units;
        }
        top = new float[streams * hidden[^1]];
        projected = new float[streams * (outputBias.Length)];
        logits = new float[streams * tokenCount];
        Guide = beatGains is null ? null : new float[streams * tokenCount];
    }

    /// <summary>Streams stepped together (takes).</summary>
    public int Streams => streams;

    /// <summary>After <see cref="Step"/>: the top LSTM layer's output of every stream [B, H], the context the logits read.</summary>
    public ReadOnlySpan<float> Top => top;

    /// <summary>
    /// After <see cref="Step"/>: the beat clock's onset guide for the next step [B, V] (<see cref="LstmState.OnsetGuide"/>);
    /// null without a beat clock.
    /// </summary>
    public float[]? Guide { get; }

    /// <summary>After <see cref="Step"/>: the beat clock's features of every stream [B, 2] (<see cref="LstmState.Clock"/>); empty without a beat clock.</summary>
    public ReadOnlySpan<float> Clock => clock;

    /// <summary>
    /// Reads one token per stream and returns the next step's log-probabilities [B, V] (logits where the model has
    /// no backoff), as the network's forward would; the array is reused by the next call.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public float[] Step(ReadOnlySpan<int> tokens)
    {
        if (tokens.Length != streams) throw new ArgumentException($"Give one token for each of the {streams} streams.", nameof(tokens));
        for (int b = 0; b < streams; b++)
        {
            if ((uint)tokens[b] >= (uint)tokenCount) throw new ArgumentOutOfRangeException(nameof(tokens), $"Token {tokens[b]} is not one of the model's {tokenCount}.");
            current[b] = tokens[b];
        }
        if (beatGains is not null)
        {
            // The clock reads the rise of the current token over the previous one (the first token of a fresh state has none).
            for (int b = 0; b < streams; b++) before[b] = previous[b] < 0 ? current[b] : previous[b];
            FrameLstm.AdvanceClock(beatDescriptors!, beatSize, current, before, streams, history, shifted, moments, rates, clock, holdBeat);
            (history, shifted) = (shifted, history);
        }
        for (int b = 0; b < streams; b++)
        {
            var x = inputs[0].AsSpan(b * widths[0]);
            embedding.AsSpan(current[b] * embeddingSize, embeddingSize).CopyTo(x);
            if (beatGains is not null) clock.AsSpan(b * FrameLstm.BeatFeatures, FrameLstm.BeatFeatures).CopyTo(x[embeddingSize..]);
            if (textureBands > 0) Texture(b, x.Slice(embeddingSize + FrameLstm.BeatFeatures, 2 * textureBands));
        }
        for (int i = 0; i < hidden.Length; i++)
        {
            int units = hidden[i], width = widths[i];
            Rows(gateWeights[i], gateBiases[i], width, inputs[i], gates[i]);
            for (int b = 0; b < streams; b++)
            {
                var g = gates[i].AsSpan(b * 4 * units, 4 * units);
                var cell = cells[i].AsSpan(b * units, units);
                var h = inputs[i].AsSpan(b * width + width - units, units);
                for (int j = 0; j < units; j++)
                {
                    float input = Sigmoid(g[j]), forget = Sigmoid(g[units + j]), candidate = MathF.Tanh(g[2 * units + j]), output = Sigmoid(g[3 * units + j]);
                    cell[j] = forget * cell[j] + input * candidate;
                    h[j] = output * MathF.Tanh(cell[j]);
                }
                var next = i + 1 < hidden.Length ? inputs[i + 1].AsSpan(b * widths[i + 1], units) : top.AsSpan(b * units, units);
                h.CopyTo(next);
            }
        }
        Rows(outputWeight, outputBias, hidden[^1], top, projected);
        if (tokenBias is not null) Rows(embedding, tokenBias, embeddingSize, projected, logits);
        else projected.CopyTo(logits);
        if (Guide is not null)
        {
            int span = FrameLstm.GuideSpan;
            Array.Copy(recent, streams, recent, 0, (span - 1) * streams);
            current.CopyTo(recent, (span - 1) * streams);
            FrameLstm.GuideValues(beatDescriptors!, beatSize, recent, span, streams, clock, moments, Guide);
        }
        for (int b = 0; b < streams; b++) Memories(b);
        current.CopyTo(previous, 0);
        return logits;
    }

    // The texture stream b reads this step, its sums moved by the current token's description unless held.
    private void Texture(int b, Span<float> features)
    {
        int n = textureBands;
        var sums = texture.AsSpan(b * (2 * n + 1), 2 * n + 1);
        if (!holdTexture)
        {
            const float d = (float)FrameLstm.TextureDecay;
            var described = textureDescriptors!.AsSpan(current[b] * n, n);
            for (int i = 0; i < n; i++)
            {
                sums[i] = d * sums[i] + (1 - d) * described[i];
                sums[n + i] = d * sums[n + i] + (1 - d) * described[i] * described[i];
            }
            sums[2 * n] = d * sums[2 * n] + (1 - d);
        }
        for (int i = 0; i < n; i++)
        {
            float mean = sums[i] / sums[2 * n];
            features[i] = mean;
            features[n + i] = MathF.Sqrt(Math.Max(0, sums[n + i] / sums[2 * n] - mean * mean));
        }
    }

    // The stream memories, the clock's move of the current token's logit and the backoff, for stream b.
    private void Memories(int b)
    {
        var result = logits.AsSpan(b * tokenCount, tokenCount);
        int token = current[b];
        if (onsetGain is { } onset) TensorPrimitives.MultiplyAdd(Guide.AsSpan(b * tokenCount, tokenCount), onset, result, result);
        for (int j = 0; j < cacheDecays.Length; j++)
        {
            var cache = caches.AsSpan((j * streams + b) * tokenCount, tokenCount);
            float d = (float)cacheDecays[j];
            if (d == 0) cache.Clear();
            else TensorPrimitives.Multiply(cache, d, cache);
            cache[token] += 1;
            float gain = cacheGains[j];
            for (int v = 0; v < tokenCount; v++) if (cache[v] != 0) result[v] += MathF.Log(1 + cache[v]) * gain;
        }
        if (beatGains is not null)
        {
            float expected = clock[b * 2], periodicity = clock[b * 2 + 1];
            result[token] += expected * beatGains[0] + periodicity * beatGains[1] + expected * periodicity * beatGains[2];
        }
        if (successors is not null)
        {
            if (previous[b] >= 0) successors[((long)b * tokenCount + previous[b]) * tokenCount + token] += 1;
            var row = successors.AsSpan((b * tokenCount + token) * tokenCount, tokenCount);
            float gain = successorGain!.Value;
            for (int v = 0; v < tokenCount; v++) if (row[v] != 0) result[v] += MathF.Log(1 + row[v]) * gain;
        }
        if (backoffWeight > 0)
        {
            float max = TensorPrimitives.Max(result), sum = 0;
            for (int v = 0; v < tokenCount; v++) sum += result[v] = MathF.Exp(result[v] - max);
            float keep = (1 - backoffWeight) / sum;
            for (int v = 0; v < tokenCount; v++)
            {
                float backoff = (v == token ? backoffRepeat : 0) + unigram[v] * (1 - backoffRepeat);
                result[v] = MathF.Log(Math.Max(result[v] * keep + backoff * backoffWeight, 1e-30f));
            }
        }
    }

    // out[b, r] = bias[r] + W[r] . x[b] for every stream.
    private void Rows(float[] weights, float[] bias, int width, float[] x, float[] output) =>
        RowProducts.Compute(weights, bias.Length, width, bias, 0, x, 0, streams, output, 0);

    private static float Sigmoid(float x) => 1 / (1 + MathF.Exp(-x));
}
