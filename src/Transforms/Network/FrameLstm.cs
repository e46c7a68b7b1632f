using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using MusicGen.Transforms.Tokens;
using MusicGen.Transforms.Torch;

namespace MusicGen.Transforms.Network;

/// <summary>
/// Stacked LSTM that predicts the next feature frame: input [T, B, D] -> LSTM layers (each followed by dropout)
/// -> linear -> output [T, B, D]. The 2017 configuration is 3 layers of 256 units with dropout 0.5, 0.3, 0.2.
/// With a token count it is a token model instead: input [T, B, 1] holds token numbers (as floats), an embedding
/// feeds the LSTM layers, and the output [T, B, V] holds the logits of the next token. A token model also adds a
/// learned multiple of log(1 + c) to the logits, where c counts each token in the stream's recent past with a decay
/// per step (<see cref="CacheDecays"/>: the previous token alone, about a sixth of a second, about two seconds): a
/// cache of what this song just played, which carries over to music never trained on, where the LSTM's own
/// predictions are least sure. Given descriptors of the tokens (a token model's codebook centroids: what each token
/// sounds like), tokens are embedded and scored through one shared projection of their descriptors instead of a
/// free vector per token: similar-sounding tokens get similar embeddings and similar probabilities, which carries
/// over to songs whose tokens the network saw rarely. Finally a token model's distribution can be interpolated with a
/// backoff: "repeat the previous token with the training repeat rate, else draw from the training frequencies", with a
/// weight fitted on held-out music after training (<see cref="SetBackoff"/>; 0 while training), as n-gram language
/// models are smoothed: where the network is sure of a wrong token on unfamiliar music, the backoff still gives the
/// right one a fair probability.
/// </summary>
public sealed class FrameLstm : nn.Module<Tensor, LstmState?, (Tensor Output, LstmState State)>
{
    private readonly ModuleList<LSTM> layers = new();
    private readonly ModuleList<Dropout> dropouts = new();
    private readonly Linear output;
    private readonly Embedding? embedding;
    private readonly Parameter? cacheGains;
    private readonly Linear? tokenProjection;
    private readonly Parameter? tokenBias;

    /// <summary>Per-step decay of each recent-token cache of a token model.</summary>
    public static IReadOnlyList<double> CacheDecays { get; } = [0, 0.9, 0.99];

    /// <summary>Creates the network with random initial weights (seed torch first for reproducibility).</summary>
    /// <param name="featureSize">Values per frame (D), both in and out.</param>
    /// <param name="hiddenSizes">Units of each LSTM layer, bottom first.</param>
    /// <param name="dropouts">Dropout after each LSTM layer (same count as <paramref name="hiddenSizes"/>).</param>
    /// <param name="tokenCount">Tokens of a token model (0: a frame model).</param>
    /// <param name="embeddingSize">A token model's embedding size.</param>
    /// <param name="descriptors">A token model's token descriptors [tokenCount, size] row-major, or null (free embeddings).</param>
    public FrameLstm(int featureSize, IReadOnlyList<int> hiddenSizes, IReadOnlyList<float> dropouts, int tokenCount = 0, int embeddingSize = 0,
        float[]? descriptors = null)
        : base(nameof(FrameLstm))
    {
        if (hiddenSizes.Count == 0 || hiddenSizes.Count != dropouts.Count)
            throw new ArgumentException("Give one dropout rate per LSTM layer, and at least one layer.", nameof(dropouts));
        if (tokenCount < 0 || (tokenCount > 0 && (featureSize != 1 || embeddingSize < 1)))
            throw new ArgumentException("A token model reads one token per step and needs a positive embedding size.", nameof(tokenCount));
        FeatureSize = featureSize;
        HiddenSizes = hiddenSizes.ToArray();
        Dropouts = dropouts.ToArray();
        TokenCount = tokenCount;
        EmbeddingSize = tokenCount > 0 ? embeddingSize : 0;
        int inputs = featureSize;
        if (tokenCount > 0)
        {
            if (descriptors is null) embedding = nn.Embedding(tokenCount, embeddingSize);
            else
            {
                if (descriptors.Length == 0 || descriptors.Length % tokenCount != 0)
                    throw new ArgumentException($"Give the same number of descriptor values for each of the {tokenCount} tokens.", nameof(descriptors));
                DescriptorSize = descriptors.Length / tokenCount;
                register_buffer("descriptors", tensor(descriptors, [tokenCount, DescriptorSize]));
                tokenProjection = nn.Linear(DescriptorSize, embeddingSize);
                tokenBias = nn.Parameter(zeros(tokenCount));
            }
            cacheGains = nn.Parameter(zeros(CacheDecays.Count));
            // Held in a local: TorchSharp passes a Scalar's handle to LibTorch without keeping the Scalar alive, and a
            // temporary collected during the call fails in LibTorch as "Expected false to be true" (docs/design.md).
            using Scalar uniform = 1.0 / tokenCount;
            register_buffer("backoff_unigram", full(tokenCount, uniform));
            register_buffer("backoff_repeat", zeros(1));
            register_buffer("backoff_weight", zeros(1));
            inputs = embeddingSize;
        }
        for (int i = 0; i < HiddenSizes.Length; i++)
        {
            layers.Add(nn.LSTM(inputs, HiddenSizes[i]));
            this.dropouts.Add(nn.Dropout(Dropouts[i]));
            inputs = HiddenSizes[i];
        }
        output = nn.Linear(inputs, tokenProjection is null ? OutputSize : embeddingSize);
        RegisterComponents();
    }

    /// <summary>Values per frame.</summary>
    public int FeatureSize { get; }

    /// <summary>Tokens of a token model; 0 for a frame model.</summary>
    public int TokenCount { get; }

    /// <summary>A token model's embedding size; 0 for a frame model.</summary>
    public int EmbeddingSize { get; }

    /// <summary>Values describing each token of a token model with descriptors; 0 otherwise.</summary>
    public int DescriptorSize { get; }

    /// <summary>Values per output step: one logit per token for a token model, else the feature size.</summary>
    public int OutputSize => TokenCount > 0 ? TokenCount : FeatureSize;

    /// <summary>Units of each LSTM layer.</summary>
    public int[] HiddenSizes { get; }

    /// <summary>Dropout after each LSTM layer.</summary>
    public float[] Dropouts { get; }

    /// <summary>Runs a sequence [T, B, D] from <paramref name="state"/> (zeros when null); returns [T, B, D] and the new state.</summary>
    public override (Tensor Output, LstmState State) forward(Tensor input, LstmState? state)
    {
        var tokens = TokenCount == 0 ? null : input.squeeze(-1).to_type(ScalarType.Int64);
        Tensor? keys = tokenProjection is null ? null : tokenProjection.call(get_buffer("descriptors")!).tanh(); // [V, E]
        var x = tokens is null ? input : keys is null ? embedding!.call(tokens) : keys.index_select(0, tokens.reshape(-1)).reshape(tokens.shape[0], tokens.shape[1], -1);
        var next = new (Tensor H, Tensor C)[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            (Tensor, Tensor)? initial = state is null ? null : (state.Layers[i].H, state.Layers[i].C);
            var (y, h, c) = layers[i].call(x, initial);
            next[i] = (h, c);
            x = dropouts[i].call(y);
        }
        var result = output.call(x);
        if (keys is not null) result = matmul(result, keys.t()).Plus(tokenBias!);
        if (tokens is null) return (result, new LstmState(next));
        var caches = Caches(tokens, state?.Caches);
        using Scalar one = 1;
        for (int j = 0; j < CacheDecays.Count; j++) result = result.Plus(caches[j].Plus(one).log() * cacheGains![j]);
        if (BackoffWeight > 0) result = WithBackoff(result, caches[0]);
        return (result, new LstmState(next) { Caches = stack(caches.Select(c => c[-1]).ToArray()) });
    }

    /// <summary>
    /// When the backoff weight was fitted: the held-out cross-entropy (nats per token) of the network alone, of the
    /// interpolation, and of the backoff alone. Not saved with the model.
    /// </summary>
    public (double Network, double Interpolated, double Backoff)? BackoffFit { get; set; }

    /// <summary>A token model's backoff weight (0: none).</summary>
    public double BackoffWeight => TokenCount == 0 ? 0 : get_buffer("backoff_weight")!.item<float>();

    /// <summary>
    /// Sets a token model's backoff: the training tokens' frequencies (add-one smoothed), the training repeat rate, and
    /// the weight of the backoff in the interpolation (0 turns it off).
    /// </summary>
    public void SetBackoff(IReadOnlyList<long> counts, double repeatRate, double weight)
    {
        if (TokenCount == 0) throw new InvalidOperationException("Only a token model has a backoff.");
        if (counts.Count != TokenCount) throw new ArgumentException($"Give {TokenCount} counts, not {counts.Count}.", nameof(counts));
        if (!(weight >= 0 && weight < 1) || !(repeatRate >= 0 && repeatRate <= 1)) throw new ArgumentOutOfRangeException(nameof(weight), "The weight must be in [0, 1) and the repeat rate in [0, 1].");
        var baseline = new RepeatOrUnigram(counts, repeatRate);
        using var noGrad = no_grad();
        using var unigram = tensor(Enumerable.Range(0, TokenCount).Select(t => (float)baseline.Unigram(t)).ToArray());
        using var repeat = tensor(new[] { (float)repeatRate });
        using var w = tensor(new[] { (float)weight });
        get_buffer("backoff_unigram")!.copy_(unigram);
        get_buffer("backoff_repeat")!.copy_(repeat);
        get_buffer("backoff_weight")!.copy_(w);
    }

    /// <summary>log((1 - w) softmax(logits) + w (r [same token] + (1 - r) unigram)); <paramref name="previous"/> is one-hot [T, B, V].</summary>
    internal Tensor WithBackoff(Tensor logits, Tensor previous)
    {
        var w = get_buffer("backoff_weight")!;
        var r = get_buffer("backoff_repeat")!;
        using Scalar one = 1;
        var backoff = (previous * r).Plus(get_buffer("backoff_unigram")! * r.neg().Plus(one));
        return (nn.functional.softmax(logits, -1) * w.neg().Plus(one)).Plus(backoff * w).log();
    }

    /// <summary>
    /// For each decay d, the decayed counts c_t = d c_(t-1) + onehot(token_t) at every step [T, B, V], continuing
    /// <paramref name="previous"/> ([J, B, V], zeros when null).
    /// </summary>
    private Tensor[] Caches(Tensor tokens, Tensor? previous)
    {
        long steps = tokens.shape[0];
        var onehot = nn.functional.one_hot(tokens, TokenCount).to_type(ScalarType.Float32); // [T, B, V]
        var flat = onehot.reshape(steps, -1);
        var result = new Tensor[CacheDecays.Count];
        for (int j = 0; j < CacheDecays.Count; j++)
        {
            double d = CacheDecays[j];
            if (d == 0)
            {
                result[j] = onehot;
                continue;
            }
            if (steps == 1 && previous is not null) // one generation step: no weight matrix to build
            {
                using Scalar decay = d;
                result[j] = previous[j].mul(decay).unsqueeze(0).Plus(onehot);
                continue;
            }
            // Lower-triangular weights d^(t-s) for s <= t, and d^(t+1) for the carried counts.
            var weights = new float[steps * steps];
            var carried = new float[steps];
            for (long t = 0; t < steps; t++)
            {
                for (long k = 0; k <= t; k++) weights[t * steps + k] = (float)Math.Pow(d, t - k);
                carried[t] = (float)Math.Pow(d, t + 1);
            }
            var counts = matmul(tensor(weights, [steps, steps], device: tokens.device), flat).reshape(onehot.shape);
            if (previous is not null)
                counts = counts.Plus(tensor(carried, [steps, 1, 1], device: tokens.device) * previous[j].unsqueeze(0));
            result[j] = counts;
        }
        return result;
    }
}

/// <summary>Hidden and cell state of every layer of a <see cref="FrameLstm"/>, each [1, B, H].</summary>
public sealed class LstmState : IDisposable
{
    /// <summary>Wraps per-layer (hidden, cell) tensors.</summary>
    public LstmState((Tensor H, Tensor C)[] layers) => Layers = layers;

    /// <summary>Per layer, bottom first: hidden state and cell state.</summary>
    public (Tensor H, Tensor C)[] Layers { get; }

    /// <summary>A token model's recent-token counts [caches, B, V] after the last step; null for a frame model.</summary>
    public Tensor? Caches { get; init; }

    /// <summary>
    /// A copy cut from the autograd graph and moved out of the current dispose scope, to carry across batches
    /// (truncated backpropagation through time).
    /// </summary>
    public LstmState DetachToOuterScope() =>
        new(Layers.Select(l => (l.H.detach().MoveToOuterDisposeScope(), l.C.detach().MoveToOuterDisposeScope())).ToArray())
        {
            Caches = Caches?.detach().MoveToOuterDisposeScope(),
        };

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var (h, c) in Layers)
        {
            h.Dispose();
            c.Dispose();
        }
        Caches?.Dispose();
    }
}
