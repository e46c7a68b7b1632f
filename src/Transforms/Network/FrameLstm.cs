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
    private readonly Parameter? successorGain;
    private readonly Linear? copyGate;
    private readonly Parameter? periodSharpness;
    private readonly Parameter? beatGains;
    private readonly Parameter? onsetGain;
    private readonly int textureBands;

    /// <summary>Per-step decay of each recent-token cache of a token model.</summary>
    public static IReadOnlyList<double> CacheDecays { get; } = [0, 0.9, 0.99];

    /// <summary>Creates the network with random initial weights (seed torch first for reproducibility).</summary>
    /// <param name="featureSize">Values per frame (D), both in and out.</param>
    /// <param name="hiddenSizes">Units of each LSTM layer, bottom first.</param>
    /// <param name="dropouts">Dropout after each LSTM layer (same count as <paramref name="hiddenSizes"/>).</param>
    /// <param name="tokenCount">Tokens of a token model (0: a frame model).</param>
    /// <param name="embeddingSize">A token model's embedding size.</param>
    /// <param name="descriptors">A token model's token descriptors [tokenCount, size] row-major, or null (free embeddings).</param>
    /// <param name="successorCache">A token model: add the successor cache (<see cref="SuccessorCache"/>).</param>
    /// <param name="periodicCopy">A token model: mix in the periodic copy (<see cref="PeriodicCopy"/>).</param>
    /// <param name="beatDescriptors">
    /// A token model: each token's spectral description [tokenCount, size] row-major, whose rises give the beat clock its
    /// onsets (<see cref="BeatClock"/>); null: no beat clock.
    /// </param>
    /// <param name="textureInput">A token model with a beat clock: read the song's texture too (<see cref="TextureInput"/>).</param>
    /// <param name="onsetTerm">A token model with a beat clock: add a learned multiple of the onset guide to the logits (<see cref="OnsetTerm"/>).</param>
    public FrameLstm(int featureSize, IReadOnlyList<int> hiddenSizes, IReadOnlyList<float> dropouts, int tokenCount = 0, int embeddingSize = 0,
        float[]? descriptors = null, bool successorCache = false, bool periodicCopy = false, float[]? beatDescriptors = null, bool textureInput = false, bool onsetTerm = false)
        : base(nameof(FrameLstm))
    {
        if (textureInput && (tokenCount == 0 || beatDescriptors is null))
            throw new ArgumentException("The texture input reads the tokens' spectral descriptions: it needs a token model with a beat clock.", nameof(textureInput));
        if (onsetTerm && (tokenCount == 0 || beatDescriptors is null))
            throw new ArgumentException("The onset term reads the beat clock: it needs a token model with a beat clock.", nameof(onsetTerm));
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
            if (successorCache) successorGain = nn.Parameter(zeros(1));
            if (periodicCopy) periodSharpness = nn.Parameter(zeros(1));
            if (beatDescriptors is not null)
            {
                if (beatDescriptors.Length == 0 || beatDescriptors.Length % tokenCount != 0)
                    throw new ArgumentException($"Give the same number of beat descriptor values for each of the {tokenCount} tokens.", nameof(beatDescriptors));
                BeatDescriptorSize = beatDescriptors.Length / tokenCount;
                register_buffer("beat_descriptors", tensor(beatDescriptors, [tokenCount, BeatDescriptorSize]));
                beatGains = nn.Parameter(zeros(BeatFeatures + 1));
                if (onsetTerm) onsetGain = nn.Parameter(zeros(1));
                if (textureInput) textureBands = Math.Min(TextureBands, BeatDescriptorSize);
            }
            // Held in a local: TorchSharp passes a Scalar's handle to LibTorch without keeping the Scalar alive, and a
            // temporary collected during the call fails in LibTorch as "Expected false to be true" (docs/design.md).
            using Scalar uniform = 1.0 / tokenCount;
            register_buffer("backoff_unigram", full(tokenCount, uniform));
            register_buffer("backoff_repeat", zeros(1));
            register_buffer("backoff_weight", zeros(1));
            inputs = embeddingSize + (beatGains is null ? 0 : BeatFeatures) + 2 * textureBands;
        }
        for (int i = 0; i < HiddenSizes.Length; i++)
        {
            layers.Add(nn.LSTM(inputs, HiddenSizes[i]));
            this.dropouts.Add(nn.Dropout(Dropouts[i]));
            inputs = HiddenSizes[i];
        }
        output = nn.Linear(inputs, tokenProjection is null ? OutputSize : embeddingSize);
        if (periodSharpness is not null) copyGate = nn.Linear(inputs, 1);
        RegisterComponents();
    }

    /// <summary>Inputs and units of each LSTM layer, first to last.</summary>
    public IEnumerable<(int Inputs, int Hidden)> LayerShapes =>
        layers.Select(layer => layer.get_parameter("weight_ih_l0")!).Select(w => ((int)w.shape[1], (int)w.shape[0] / 4));

    /// <summary>Values per frame.</summary>
    public int FeatureSize { get; }

    /// <summary>
    /// How many times the network's learning rate the beat clock's gains learn at (<see cref="RateScale"/>). They are
    /// three scalars that start at 0, and a small collection gives a few hundred optimizer steps before early stopping:
    /// at the network's rate they ended within 0.06 of 0 and the takes kept no more beat than without the clock.
    /// </summary>
    public const double GainRateScale = 30;

    /// <summary>
    /// How many times the network's learning rate the onset term's gain (<see cref="OnsetTerm"/>) learns at. Early
    /// stopping kept hyperrogue-music's model after 4 epochs (about 80 optimizer steps): at 30 times the rate the gain
    /// had reached 1.06 (held-out 3.401 nats), at 300 times 2.67 (3.379 nats), and the takes kept more of their beat
    /// (docs/evaluation.md, "The onset term").
    /// </summary>
    public const double OnsetRateScale = 300;

    /// <summary>
    /// How many times the network's learning rate the parameter of this name learns at: <see cref="GainRateScale"/>
    /// for the beat clock's gains, <see cref="OnsetRateScale"/> for the onset term's gain, 1 for every other.
    /// </summary>
    public static double RateScale(string parameterName) => parameterName switch
    {
        nameof(beatGains) => GainRateScale,
        nameof(onsetGain) => OnsetRateScale,
        _ => 1,
    };

    /// <summary>
    /// Whether a token model adds a learned multiple of log(1 + n) to each token's logit, where n counts how often that
    /// token followed the current token earlier in the stream: "what came next the last times this song played this",
    /// which lets the model continue the patterns its seed (or the song so far) repeats, on music it never saw.
    /// </summary>
    public bool SuccessorCache => successorGain is not null;

    /// <summary>Lags, in steps, a periodic copy looks back over: about 0.25 s to 2 s at 43 steps per second.</summary>
    public static (int Shortest, int Longest) CopyLags => (10, 90);

    /// <summary>Steps a token model runs at once; longer sequences run in pieces of this many.</summary>
    public const int PieceSteps = 256;

    /// <summary>Per-step decay of the periodic copy's match rates (about 2 s of memory at 43 steps per second).</summary>
    public const double CopyDecay = 0.99;

    /// <summary>
    /// Whether a token model mixes its distribution with a copy from one period earlier: for every lag from
    /// <see cref="CopyLags"/> it keeps a decayed rate of how often the stream's token equalled the token that lag
    /// before, weights the lags by a softmax of those rates (a learned sharpness), and proposes the tokens that followed
    /// at those lags; a gate computed from the top LSTM layer sets the share of the copy. Repeating music (a beat, a
    /// bar, a riff) finds its own period this way, in the seed or in the song so far, on music never trained on.
    /// </summary>
    public bool PeriodicCopy => periodSharpness is not null;

    /// <summary>
    /// Whether a token model reads a beat clock: an onset per step (the mean rise of the token's spectral description
    /// over the previous token's), standardised by decayed running statistics; for every lag of <see cref="CopyLags"/> a
    /// decayed autocorrelation of those onsets; and, weighted by a softmax of the autocorrelations, the onset one period
    /// before the next step (the onset the beat expects next) and how periodic the stream is. Both go into the bottom
    /// LSTM layer with the token, and a learned mix of them moves the previous token's logit: the network learns to hold
    /// a token between beats and change it on them, which it cannot learn by counting steps.
    /// </summary>
    public bool BeatClock => beatGains is not null;

    /// <summary>
    /// Whether a token model with a beat clock adds a learned multiple of the onset guide (<see cref="OnsetGuide"/>) to
    /// every token's logit, in training as in generation: where the clock expects an onset, tokens that rise get likelier,
    /// between beats tokens that hold do, as far as the training music bears that out. The clock's own gains only move
    /// the previous token's logit ("change now"); this says what to change to. Generation's beat guidance adds its
    /// push on top. The gain starts at 0 and learns at <see cref="OnsetRateScale"/> times the network's rate.
    /// </summary>
    public bool OnsetTerm => onsetGain is not null;

    /// <summary>The learned multiple of the onset guide in the logits (<see cref="OnsetTerm"/>); 0 without one.</summary>
    public double OnsetGain => onsetGain is null ? 0 : Tensors.ToArray(onsetGain)[0];

    /// <summary>Values the beat clock adds to each step's input: the expected onset and the periodicity.</summary>
    public const int BeatFeatures = 2;

    /// <summary>Per-step decay of the beat clock's statistics and autocorrelations (about 4.6 s at 43 steps per second).</summary>
    public const double BeatDecay = 0.995;

    /// <summary>Sharpness of the beat clock's softmax over its lags' autocorrelations.</summary>
    public const double BeatSharpness = 10;

    /// <summary>
    /// Whether a token model also reads the song's texture at every step: the mean and the spread of the tokens' spectral
    /// descriptions on <see cref="TextureBands"/> broad bands, weighted by a decay per step (<see cref="TextureDecay"/>:
    /// about 11 s), what the song has sounded like lately, which the LSTM's own state, trained over 64 steps, does not
    /// hold. Training learns what follows in music of each texture; at generation the texture is held at the primed
    /// excerpt's (<see cref="HoldTexture"/>), so the network is told what its seed sounds like for the whole take, not
    /// only what its last steps played. An option, off by default: it made the takes follow other composers' seeds
    /// further and cost FAD on one laboratory (docs/evaluation.md, "The song's texture as an input").
    /// </summary>
    public bool TextureInput => textureBands > 0;

    /// <summary>Broad bands the texture averages the tokens' descriptions into (at most).</summary>
    public const int TextureBands = 8;

    /// <summary>
    /// Each token's description averaged into the texture's <paramref name="bands"/> broad bands [V, bands] from
    /// <paramref name="descriptors"/> [V, size] row-major: band g the mean of values g size / bands to (g + 1) size / bands.
    /// </summary>
    internal static float[] TextureDescriptors(float[] descriptors, int size, int bands)
    {
        int tokens = descriptors.Length / size;
        var result = new float[tokens * bands];
        for (int v = 0; v < tokens; v++)
            for (int g = 0; g < bands; g++)
            {
                int from = g * size / bands, to = (g + 1) * size / bands;
                double sum = 0;
                for (int i = from; i < to; i++) sum += descriptors[v * size + i];
                result[v * bands + g] = (float)(sum / (to - from));
            }
        return result;
    }

    /// <summary>Per-step decay of the texture's running mean (about 11 s at 43 steps per second).</summary>
    public const double TextureDecay = 0.998;

    /// <summary>
    /// With <see cref="TextureInput"/>: while set, steps from a state that has a texture read that texture unchanged
    /// instead of moving it with their own tokens (generation sets it after priming). Not saved with the model.
    /// </summary>
    public bool HoldTexture { get; set; }

    /// <summary>
    /// With a beat clock: while set, steps from a state that has the clock's lag correlations keep them as they are
    /// instead of moving them with their own onsets (generation sets it after priming), so the clock goes on hearing the
    /// primed excerpt's beat, as surely as the excerpt has it, and reads the take's onsets only for where the beat
    /// falls. Not saved with the model.
    /// </summary>
    public bool HoldBeat { get; set; }

    /// <summary>Values describing each token to the beat clock; 0 without one.</summary>
    public int BeatDescriptorSize { get; }

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
        // A token model's stream memories build [T, T] (and [B, T, T]) matrices: a long sequence (a whole held-out file,
        // a long seed) runs in pieces with the state carried, which gives the same outputs (NetworkCacheTests).
        if (TokenCount > 0 && input.shape[0] > 2 * PieceSteps)
        {
            // Without gradients each piece's intermediate tensors are freed as it ends: only its output and the state
            // are kept (a one-hour file's held-out pass otherwise held 13 GB of them until the end).
            bool free = !is_grad_enabled();
            var outputs = new List<Tensor>();
            var carried = state;
            for (long t = 0; t < input.shape[0]; t += PieceSteps)
            {
                using var pieceScope = free ? NewDisposeScope() : null;
                var (piece, after) = forward(input.narrow(0, t, Math.Min(PieceSteps, input.shape[0] - t)), carried);
                if (free)
                {
                    piece = piece.MoveToOuterDisposeScope();
                    var kept = after.DetachToOuterScope();
                    if (!ReferenceEquals(carried, state)) carried?.Dispose();
                    after = kept;
                }
                outputs.Add(piece);
                carried = after;
            }
            return (cat(outputs, 0), carried!);
        }
        return Finish(Pass(input, state), state);
    }

    /// <summary>
    /// A token model's <see cref="forward"/> from zeros over one seed's tokens, the same in every stream ([T, B, 1]), with
    /// <paramref name="fit"/> called first on the seed's memory loss (<see cref="MemoryFit"/> of its last up to
    /// 2 x <see cref="PieceSteps"/> next-token pairs): the memory gains and token biases it sets weigh the output and the
    /// state. Where the seed runs as one pass (up to 2 x <see cref="PieceSteps"/> tokens) the loss is read from that
    /// pass, and the LSTM runs once for both.
    /// </summary>
    public (Tensor Output, LstmState State) Prime(Tensor input, Action<MemoryGainLoss> fit)
    {
        if (TokenCount == 0) throw new InvalidOperationException("Only a token model has memory gains.");
        long steps = input.shape[0];
        if (steps < 2) return forward(input, null);
        var seed = Tensors.ToArray(input.narrow(1, 0, 1)).Select(v => (int)v).ToArray();
        if (steps > 2 * PieceSteps)
        {
            using (NewDisposeScope())
            {
                var excerpt = seed.AsSpan(seed.Length - 1 - 2 * PieceSteps).ToArray();
                fit(MemoryFit(Tokens(excerpt[..^1]), Tokens(excerpt[1..])));
            }
            return forward(input, null);
        }
        var pass = Pass(input, null);
        var bias = TokenBias.detach().clone();
        using (NewDisposeScope())
        using (no_grad())
            fit(MemoryLoss(pass, seed[..^1], seed[1..]));
        // The fit may also have moved the token biases, which the pass's logits hold.
        return Finish(pass with { Logits = pass.Logits.Plus(TokenBias.detach().Minus(bias)) }, null);
    }

    /// <summary>Tokens as a token model's input [T, 1, 1].</summary>
    private static Tensor Tokens(int[] tokens) => tensor(tokens.Select(t => (float)t).ToArray(), [tokens.Length, 1, 1]);

    /// <summary>A token model's output and state after <paramref name="pass"/>, which continued <paramref name="state"/>.</summary>
    private (Tensor Output, LstmState State) Finish(NetworkPass pass, LstmState? state)
    {
        if (pass.Tokens is not { } tokens) return (pass.Logits, new LstmState(pass.Next));
        var result = pass.Output();
        var beat = pass.Beat;
        var caches = pass.Caches!;
        // Generation's onset guide reads the last few tokens: kept outside training, and in training where the onset term
        // reads them; the guide itself is made only outside training.
        Tensor? recent = null;
        if (beat is not null && (!training || onsetGain is not null))
        {
            var carriedRecent = state?.RecentTokens ?? tokens[0].unsqueeze(0).expand(GuideSpan, -1);
            var joined = cat([carriedRecent, tokens], 0);
            recent = joined.narrow(0, joined.shape[0] - GuideSpan, GuideSpan).clone();                        // [span, B]
        }
        return (result, new LstmState(pass.Next)
        {
            Caches = stack(caches.Select(c => c[-1]).ToArray()),
            Successors = pass.Successors,
            History = pass.History,
            MatchRates = pass.Rates,
            OnsetHistory = beat?.History,
            OnsetStatistics = beat?.Statistics,
            BeatRates = beat?.Rates,
            RecentTokens = recent,
            Texture = pass.Texture,
            Clock = recent is not null && !training ? beat!.Value.Features[-1].clone() : null,
            OnsetGuide = beat is { } last && recent is not null && !training ? OnsetGuide(recent, last.Features[-1], last.Statistics) : null,
        });
    }

    /// <summary>
    /// One pass of the network over its input, up to the logits before the in-song memories are weighed in: what
    /// <see cref="forward"/> returns and carries, and what <see cref="MemoryFit"/> keeps.
    /// </summary>
    private sealed record NetworkPass(FrameLstm Network, Tensor? Tokens, Tensor Logits, (Tensor H, Tensor C)[] Next,
        (Tensor Features, Tensor History, Tensor Statistics, Tensor Rates, Tensor Moments)? Beat, Tensor? OneHot, Tensor[]? Caches, Tensor? Successors,
        MemoryTerms? Memories, Tensor? Copy, Tensor? Gate, Tensor? History, Tensor? Rates)
    {
        /// <summary>With a texture input: its decayed sums after the last step [B, 2S + 1].</summary>
        public Tensor? Texture { get; init; }

        /// <summary>A token model's log-probabilities (its logits where nothing is mixed in) under the current memory gains.</summary>
        public Tensor Output() => Network.Mixed(Network.Weighed(Logits, Memories!, OneHot!), Copy, Gate, Caches![0]);
    }

    /// <summary>The pass over <paramref name="input"/> from <paramref name="state"/> (null: zeros).</summary>
    private NetworkPass Pass(Tensor input, LstmState? state)
    {
        var tokens = TokenCount == 0 ? null : input.squeeze(-1).to_type(ScalarType.Int64);
        Tensor? keys = keptKeys ?? TokenKeys();
        var x = tokens is null ? input : keys is null ? embedding!.call(tokens) : keys.index_select(0, tokens.reshape(-1)).reshape(tokens.shape[0], tokens.shape[1], -1);
        (Tensor Features, Tensor History, Tensor Statistics, Tensor Rates, Tensor Moments)? beat = null;
        if (tokens is not null && beatGains is not null)
        {
            beat = Beat(tokens, state);
            x = cat([x, beat.Value.Features], -1);
        }
        (Tensor Features, Tensor Sums)? texture = tokens is not null && textureBands > 0 ? Texture(tokens, state) : null;
        if (texture is { } heard) x = cat([x, heard.Features], -1);
        var next = new (Tensor H, Tensor C)[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            (Tensor, Tensor)? initial = state is null ? null : (state.Layers[i].H, state.Layers[i].C);
            var (y, h, c) = layers[i].call(x, initial);
            next[i] = (h, c);
            x = dropouts[i].call(y);
        }
        var top = x;
        var result = output.call(x);
        if (keys is not null) result = matmul(result, keys.t()).Plus(tokenBias!);
        if (tokens is not null && onsetGain is not null) result = result.Plus(OnsetGuides(tokens, state, beat!.Value.Features, beat.Value.Moments) * onsetGain);
        if (tokens is null) return new(this, null, result, next, null, null, null, null, null, null, null, null, null);
        var onehot = nn.functional.one_hot(tokens, TokenCount).to_type(ScalarType.Float32); // [T, B, V]
        var caches = Caches(onehot, state?.Caches);
        Tensor? successors = null;
        var counts = successorGain is null ? null : SuccessorCounts(onehot, state, out successors);
        var memories = Memories(caches, beat?.Features, counts);
        Tensor? history = null, rates = null, copy = null, gate = null;
        if (periodSharpness is not null)
        {
            (copy, history, rates) = PeriodCopy(tokens, state);
            gate = nn.functional.sigmoid(copyGate!.call(top)); // [T, B, 1]
        }
        return new(this, tokens, result, next, beat, onehot, caches, successors, memories, copy, gate, history, rates) { Texture = texture?.Sums };
    }

    /// <summary>
    /// The texture (<see cref="TextureInput"/>) every step reads [T, B, 2S] (the S bands' means, then their spreads) and
    /// the decayed sums after the last step [B, 2S + 1] (the bands' sums, the sums of their squares, then the weight of
    /// the steps seen, for bias-corrected moments, as Adam's are); held at <paramref name="state"/>'s while
    /// <see cref="HoldTexture"/> is set. Nothing in it is learned.
    /// </summary>
    private (Tensor Features, Tensor Sums) Texture(Tensor tokens, LstmState? state)
    {
        long steps = tokens.shape[0], streams = tokens.shape[1];
        using var noGrad = no_grad();
        Tensor sums;
        if (HoldTexture && state?.Texture is { } held) sums = held.unsqueeze(0).expand(steps, -1, -1);
        else
        {
            var table = tensor(TextureDescriptorValues(), [TokenCount, textureBands], device: tokens.device);
            var described = table.index_select(0, tokens.reshape(-1)).reshape(steps, streams, -1); // [T, B, S]
            sums = DecayedSums(cat([described, described * described, ones_like(described.narrow(-1, 0, 1))], -1), state?.Texture, TextureDecay, 1 - TextureDecay);
        }
        var seen = sums.narrow(-1, 2 * textureBands, 1);
        var mean = sums.narrow(-1, 0, textureBands) / seen;
        using Scalar zero = 0;
        var spread = (sums.narrow(-1, textureBands, textureBands) / seen).Minus(mean * mean).clamp_min(zero).sqrt();
        var features = cat([mean, spread], -1);
        return (features, sums[-1].clone());
    }

    /// <summary>The terms of a token model's logits that its in-song memory gains weigh (<see cref="Weighed"/>).</summary>
    private sealed record MemoryTerms(Tensor[] Caches, Tensor? BeatMix, Tensor? Successors);

    /// <summary>log(1 + count) of each recent-token cache and of the successor counts, and the beat clock's mix of features.</summary>
    private static MemoryTerms Memories(Tensor[] caches, Tensor? beatFeatures, Tensor? successorCounts)
    {
        using Scalar one = 1;
        // The previous token's logit moves with the expected onset, the periodicity and their product.
        var mix = beatFeatures is { } f ? cat([f, f.narrow(-1, 0, 1) * f.narrow(-1, 1, 1)], -1) : null; // [T, B, 3]
        return new(caches.Select(c => c.Plus(one).log()).ToArray(), mix, successorCounts?.Plus(one).log());
    }

    /// <summary>The logits with each memory term times its gain added.</summary>
    private Tensor Weighed(Tensor logits, MemoryTerms memories, Tensor onehot)
    {
        var result = logits;
        for (int j = 0; j < memories.Caches.Length; j++) result = result.Plus(memories.Caches[j] * cacheGains![j]);
        if (memories.BeatMix is { } mix) result = result.Plus(matmul(mix, beatGains!).unsqueeze(-1) * onehot);
        if (memories.Successors is { } successors) result = result.Plus(successors * successorGain!);
        return result;
    }

    /// <summary>
    /// The log-probabilities of logits mixed with the periodic copy (where <paramref name="gate"/> is given) and the
    /// backoff (where its weight is above 0); the logits themselves where neither is.
    /// </summary>
    private Tensor Mixed(Tensor logits, Tensor? copy, Tensor? gate, Tensor previous, Tensor? unigram = null)
    {
        Tensor? probabilities = null;
        using Scalar one = 1;
        if (gate is not null) probabilities = (nn.functional.softmax(logits, -1) * gate.neg().Plus(one)).Plus(copy! * gate);
        if (BackoffWeight > 0) probabilities = WithBackoff(probabilities ?? nn.functional.softmax(logits, -1), previous, unigram);
        // Mixtures are summed as probabilities and turned into log-probabilities once (a log-softmax of them is themselves);
        // the floor keeps a saturated gate (sigmoid rounds to 1 in float32) from giving a target log(0).
        using Scalar floor = 1e-30f;
        return probabilities is null ? logits : probabilities.clamp_min(floor).log();
    }

    /// <summary>A token model's bias of each token's logit [V].</summary>
    public Parameter TokenBias => TokenCount == 0 ? throw new InvalidOperationException("Only a token model has token biases.") : tokenBias ?? output.bias!;

    /// <summary>The in-song memory gains of a token model, the parameters <see cref="MemoryFit"/> fits.</summary>
    public IReadOnlyList<Parameter> MemoryGains =>
        new[] { cacheGains, successorGain, beatGains }.Where(p => p is not null).Select(p => p!).ToArray();

    /// <summary>
    /// For a token model, the mean next-token cross-entropy of <paramref name="targets"/> after <paramref name="input"/>
    /// (both [T, 1, 1]; from zeros, as <see cref="forward"/> in evaluation mode) as a function of its
    /// <see cref="MemoryGains"/> (and shifts of the token biases) alone, in plain loops (<see cref="MemoryGainLoss"/>).
    /// Everything the gains do not weigh is computed once here, and so are the tokens they cannot touch: every memory
    /// term lives on the tokens of the excerpt, so the others enter as one column whose logit is their log-sum-exp. A
    /// step of a fit is then a pass over [T, its distinct tokens + 1] numbers.
    /// </summary>
    public MemoryGainLoss MemoryFit(Tensor input, Tensor targets)
    {
        if (TokenCount == 0) throw new InvalidOperationException("Only a token model has memory gains.");
        if (input.shape[0] > 2 * PieceSteps) throw new ArgumentException($"Fit to at most {2 * PieceSteps} steps, not {input.shape[0]}.", nameof(input));
        if (input.shape[1] != 1 || targets.shape[1] != 1) throw new ArgumentException("Fit to one stream.", nameof(input));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool wasTraining = training;
        eval();
        NetworkPass pass;
        try
        {
            pass = Pass(input, null);
        }
        finally
        {
            if (wasTraining) train();
        }
        return MemoryLoss(pass, Tensors.ToArray(input).Select(v => (int)v).ToArray(), Tensors.ToArray(targets).Select(v => (int)v).ToArray());
    }

    /// <summary>
    /// <see cref="MemoryFit"/> from a pass from zeros whose first stream's first steps read <paramref name="inputTokens"/>,
    /// followed by <paramref name="targetTokens"/>. Its tensors belong to the caller's dispose scope.
    /// </summary>
    private MemoryGainLoss MemoryLoss(NetworkPass pass, int[] inputTokens, int[] targetTokens)
    {
        // The excerpt's tokens (inputs and targets), then one column that stands for all the others: no memory term
        // reaches them, so their logits enter as one log-sum-exp, and the mixtures see them as one token.
        var playedTokens = inputTokens.Concat(targetTokens).Distinct().Order().ToArray();
        var place = new Dictionary<int, int>();
        for (int i = 0; i < playedTokens.Length; i++) place[playedTokens[i]] = i;
        int steps = inputTokens.Length, columns = playedTokens.Length + 1;
        var played = tensor(playedTokens.Select(t => (long)t).ToArray());
        var isPlayed = new bool[TokenCount];
        foreach (int t in playedTokens) isPlayed[t] = true;
        var mask = tensor(isPlayed);
        using Scalar never = float.NegativeInfinity;
        Tensor Excerpt(Tensor t) => t.narrow(0, 0, steps).narrow(1, 0, 1); // [steps, 1, ...]: every stream read the same tokens
        float[] Columns(Tensor t, Tensor others) => Tensors.ToArray(cat([Excerpt(t).index_select(-1, played), Excerpt(others)], -1));
        float[] Zero(Tensor t) => Columns(t, zeros_like(t.narrow(-1, 0, 1)));
        var logits = Columns(pass.Logits, pass.Logits.masked_fill(mask, never).logsumexp(-1, keepdim: true));
        var caches = pass.Memories!.Caches.Select(Zero).ToArray();
        var successors = pass.Memories.Successors is { } counts ? Zero(counts) : null;
        var beatMix = pass.Memories.BeatMix is { } mix ? Tensors.ToArray(Excerpt(mix)) : null;
        var previous = inputTokens.Select(t => place[t]).ToArray();
        var target = targetTokens.Select(t => place[t]).ToArray();
        // The mixtures' fixed parts: the backoff's unigram with the others' share last, the copy gate and proposal.
        var unigram = get_buffer("backoff_unigram")!;
        using Scalar nothing = 0;
        var lumped = Tensors.ToArray(cat([unigram.index_select(0, played), unigram.masked_fill(mask, nothing).sum().unsqueeze(0)]));
        var mixture = Mixture(BackoffWeight > 0 ? BackoffWeight : 0, get_buffer("backoff_repeat")!.item<float>(), lumped,
            pass.Gate is { } gate ? Tensors.ToArray(Excerpt(gate)) : null, pass.Copy is { } proposal ? Zero(proposal) : null, previous, target);
        return new MemoryGainLoss(steps, columns, logits, caches, successors, beatMix, beatGains is null ? 0 : (int)beatGains.shape[0],
            previous, target, mixture, playedTokens);
    }

    /// <summary>
    /// Where <see cref="Mixed"/> mixes the periodic copy (<paramref name="gate"/> [steps] and <paramref name="copy"/>
    /// [steps, columns], or null) or the backoff (weight <paramref name="w"/> above 0, repeat rate <paramref name="r"/>,
    /// the unigram <paramref name="lumped"/> into the columns) into a token model's distribution p, each step's target
    /// probability a p_y + e and the log of the mixture's sum over all tokens (see <see cref="MemoryGainLoss"/>); null
    /// where it mixes nothing.
    /// </summary>
    private static (double Scale, double Offset, double LogTotal)[]? Mixture(double w, double r, float[] lumped, float[]? gate, float[]? copy,
        int[] previous, int[] target)
    {
        if (gate is null && w == 0) return null;
        int columns = lumped.Length;
        double unigramTotal = lumped.Sum(u => (double)u);
        var result = new (double, double, double)[previous.Length];
        for (int t = 0; t < result.Length; t++)
        {
            double gamma = gate?[t] ?? 0, proposed = 0;
            if (copy is not null)
                for (int k = 0; k < columns; k++) proposed += copy[t * columns + k];
            int y = target[t];
            double copied = copy is null ? 0 : copy[t * columns + y];
            double backoff = r * (previous[t] == y ? 1 : 0) + (1 - r) * lumped[y];
            // The network's softmax sums to 1 over all tokens; an empty copy proposal leaves its share out.
            double total = (1 - w) * (1 - gamma + gamma * proposed) + w * (r + (1 - r) * unigramTotal);
            result[t] = ((1 - w) * (1 - gamma), (1 - w) * gamma * copied + w * backoff, Math.Log(total));
        }
        return result;
    }

    /// <summary>
    /// A stepper that continues <paramref name="state"/> one generation step at a time in plain loops on the CPU (see
    /// <see cref="FrameLstmStepper"/>); null where it does not apply: a frame model, a periodic copy, or a state that
    /// is not a token model's after at least one step.
    /// </summary>
    public FrameLstmStepper? Stepper(LstmState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (TokenCount == 0 || periodSharpness is not null || state.Caches is null || (successorGain is not null && state.Successors is null)
            || (beatGains is not null && (state.OnsetHistory is null || state.RecentTokens is null)) || (textureBands > 0 && state.Texture is null)) return null;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        static float[] Values(Tensor t) => Tensors.ToArray(t);
        var lstm = layers.Select(layer =>
        {
            var p = layer.named_parameters().ToDictionary(n => n.name, n => n.parameter);
            return (Input: Values(p["weight_ih_l0"]), Hidden: Values(p["weight_hh_l0"]), Bias: Values(p["bias_ih_l0"].Plus(p["bias_hh_l0"])));
        }).ToArray();
        var keys = TokenKeys();
        return new FrameLstmStepper(
            lstm, HiddenSizes, EmbeddingSize, Values(keys ?? embedding!.weight!), Values(output.weight!), Values(output.bias!),
            keys is null ? null : Values(tokenBias!), Values(cacheGains!), CacheDecays.ToArray(),
            successorGain is null ? null : Values(successorGain)[0],
            beatGains is null ? null : Values(beatGains), beatGains is null ? null : Values(get_buffer("beat_descriptors")!),
            BackoffWeight, Values(get_buffer("backoff_repeat")!)[0], Values(get_buffer("backoff_unigram")!), state,
            textureBands == 0 ? null : TextureDescriptorValues(), HoldTexture, HoldBeat, onsetGain is null ? null : Values(onsetGain)[0]);
    }

    // The token keys while a KeepTokenKeys scope lasts.
    private Tensor? keptKeys;

    /// <summary>Each token's key [V, E]: its descriptors projected, the rows the output is scored against (null without descriptors).</summary>
    private Tensor? TokenKeys() => tokenProjection?.call(get_buffer("descriptors")!).tanh();

    /// <summary>
    /// While the returned scope lasts, the token keys are computed once instead of at every call: for generation,
    /// whose steps run one at a time with weights that do not change (the projection of 512 descriptors cost as much
    /// as a tenth of a step). Calls in the scope must not train the network.
    /// </summary>
    public IDisposable KeepTokenKeys()
    {
        if (keptKeys is not null || tokenProjection is null) return new KeptKeys(null);
        using (no_grad()) keptKeys = TokenKeys()!.DetachFromDisposeScope();
        return new KeptKeys(this);
    }

    private sealed class KeptKeys(FrameLstm? owner) : IDisposable
    {
        public void Dispose()
        {
            if (owner?.keptKeys is not { } keys) return;
            owner.keptKeys = null;
            keys.Dispose();
        }
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

    /// <summary>
    /// While the returned scope lasts, the backoff draws its other tokens by <paramref name="unigram"/> [V], which sums to
    /// 1, instead of the training frequencies; disposing puts those back. Priming, the seed adaptation's fit and the
    /// stepper all read the backoff from here.
    /// </summary>
    public IDisposable BackoffDuring(float[] unigram)
    {
        if (TokenCount == 0) throw new InvalidOperationException("Only a token model has a backoff.");
        ArgumentNullException.ThrowIfNull(unigram);
        if (unigram.Length != TokenCount) throw new ArgumentException($"Give {TokenCount} frequencies, not {unigram.Length}.", nameof(unigram));
        using var noGrad = no_grad();
        var buffer = get_buffer("backoff_unigram")!;
        var trained = buffer.clone().DetachFromDisposeScope();
        using var given = tensor(unigram);
        buffer.copy_(given);
        return new KeptBackoff(buffer, trained);
    }

    private sealed class KeptBackoff(Tensor buffer, Tensor trained) : IDisposable
    {
        public void Dispose()
        {
            using (no_grad()) buffer.copy_(trained);
            trained.Dispose();
        }
    }

    /// <summary>The backoff's frequencies of each token [V] (the training's, add-one smoothed, unless <see cref="BackoffDuring"/> holds others).</summary>
    public float[] BackoffUnigram => Tensors.ToArray(get_buffer("backoff_unigram")!);

    /// <summary>
    /// Starts a token model's untrained network at the backoff's prediction: the output bias at the log of the training
    /// frequencies (add-one smoothed) and the previous-token cache's gain where it gives the previous token the training
    /// repeat rate. Training then learns departures from "repeat the previous token, else the frequencies" instead of
    /// first rediscovering both, which took most of the optimizer's steps on a small collection.
    /// </summary>
    public void StartFromBaseline(IReadOnlyList<long> counts, double repeatRate)
    {
        if (TokenCount == 0) throw new InvalidOperationException("Only a token model has a baseline to start from.");
        if (counts.Count != TokenCount) throw new ArgumentException($"Give {TokenCount} counts, not {counts.Count}.", nameof(counts));
        var baseline = new RepeatOrUnigram(counts, Math.Clamp(repeatRate, 0, 0.999));
        var logUnigram = Enumerable.Range(0, TokenCount).Select(t => (float)Math.Log(baseline.Unigram(t))).ToArray();
        // With logits log u, a boost E on the previous token gives it u E / (1 - u + u E); at u = 1/V that equals
        // r + (1 - r)/V when E = (r V + 1 - r) / (1 - r). The cache adds gain * log(1 + 1) to the previous token.
        double r = baseline.RepeatRate, boost = (r * TokenCount + 1 - r) / (1 - r);
        using var noGrad = no_grad();
        using var bias = tensor(logUnigram);
        TokenBias.copy_(bias);
        using var gain = tensor(new[] { (float)(Math.Log(boost) / Math.Log(2)) });
        // Both views held to the end: a temporary tensor passed to LibTorch can be finalized during the call, as a Scalar
        // can (docs/design.md, "Scalars must outlive the call"); this copy once crashed the process that way.
        using var previousGain = cacheGains![0];
        using var value = gain[0];
        previousGain.copy_(value);
        if (successorGain is not null)
        {
            using Scalar unit = 1;
            successorGain.fill_(unit);
        }
        if (copyGate is not null)
        {
            using Scalar closed = -2;
            copyGate.bias!.fill_(closed);
        }
    }

    /// <summary>
    /// (1 - w) p + w (r [same token] + (1 - r) unigram), for probabilities p; <paramref name="previous"/> is one-hot
    /// [T, B, V]; <paramref name="unigram"/> replaces the backoff's own (null: that one) where p covers other columns.
    /// </summary>
    internal Tensor WithBackoff(Tensor probabilities, Tensor previous, Tensor? unigram = null)
    {
        var w = get_buffer("backoff_weight")!;
        var r = get_buffer("backoff_repeat")!;
        using Scalar one = 1;
        var backoff = (previous * r).Plus((unigram ?? get_buffer("backoff_unigram")!) * r.neg().Plus(one));
        return (probabilities * w.neg().Plus(one)).Plus(backoff * w);
    }

    /// <summary>
    /// For each decay d, the decayed counts c_t = d c_(t-1) + onehot(token_t) at every step [T, B, V], continuing
    /// <paramref name="previous"/> ([J, B, V], zeros when null).
    /// </summary>
    private Tensor[] Caches(Tensor onehot, Tensor? previous)
    {
        long steps = onehot.shape[0];
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
            result[j] = DecayedSums(onehot, previous?[j], d);
        }
        return result;
    }

    /// <summary>
    /// Decayed running sums over the steps of <paramref name="x"/> ([T, ...]): out[t] = scale * sum over s &lt;= t of
    /// d^(t-s) x[s], plus d^(t+1) <paramref name="carried"/> (the sums before the first step, shaped like x[0]).
    /// </summary>
    private static Tensor DecayedSums(Tensor x, Tensor? carried, double d, double scale = 1)
    {
        long steps = x.shape[0];
        var powers = new double[steps + 1];
        for (long n = 0; n <= steps; n++) powers[n] = Math.Pow(d, n);
        var weights = new float[steps * steps];
        var decays = new float[steps];
        for (long t = 0; t < steps; t++)
        {
            for (long k = 0; k <= t; k++) weights[t * steps + k] = (float)(scale * powers[t - k]);
            decays[t] = (float)powers[t + 1];
        }
        var sums = matmul(tensor(weights, [steps, steps], device: x.device), x.reshape(steps, -1)).reshape(x.shape);
        if (carried is null) return sums;
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = steps;
        return sums.Plus(tensor(decays, shape, device: x.device) * carried.unsqueeze(0));
    }

    /// <summary>
    /// The beat clock (<see cref="BeatClock"/>) for every step: its features [T, B, 2] (the expected onset of the next
    /// step and the periodicity), the last <see cref="CopyLags"/>.Longest standardised onsets [L, B] (0 before any),
    /// the decayed statistics after the last step [B, 3] (mean onset, mean squared onset, and the weight of the steps
    /// seen), the decayed autocorrelation sums of each lag [B, lags], and the statistics after every step [T, B, 3].
    /// Nothing in it is learned: it runs without gradients.
    /// </summary>
    internal (Tensor Features, Tensor History, Tensor Statistics, Tensor Rates, Tensor Moments) Beat(Tensor tokens, LstmState? state)
    {
        var (shortest, longest) = CopyLags;
        long steps = tokens.shape[0], streams = tokens.shape[1];
        int lagCount = longest - shortest + 1;
        using var noGrad = no_grad();
        if (steps == 1 && tokens.device_type == DeviceType.CPU && state is { Caches: { } last, OnsetHistory: { } carriedHistory, OnsetStatistics: { } carriedMoments, BeatRates: { } carriedRates })
            return BeatStep(tokens, last[0], carriedHistory, carriedMoments, carriedRates);
        using Scalar zero = 0, tiny = 1e-6, sharpness = BeatSharpness, low = -5, high = 5, stepOne = 1L;
        var descriptors = get_buffer("beat_descriptors")!;
        var now = descriptors.index_select(0, tokens.reshape(-1)).reshape(steps, streams, -1);            // [T, B, D]
        // The description before the first step: the carried previous token's (the decay-0 cache), or the first's own.
        var first = state?.Caches is { } carried ? matmul(carried[0], descriptors) : now[0];
        var before = cat([first.unsqueeze(0), now.narrow(0, 0, steps - 1)], 0);
        var onsets = now.Minus(before).clamp_min(zero).mean([-1L]);                                         // [T, B]
        var carriedStatistics = state?.OnsetStatistics;
        var moments = stack([onsets, onsets * onsets, ones_like(onsets)], -1);                                // [T, B, 3]
        var statistics = DecayedSums(moments, carriedStatistics, BeatDecay, 1 - BeatDecay);
        // Bias-corrected as Adam's moments are: the third sum is the weight 1 - d^n of the n steps seen.
        var seen = statistics.narrow(-1, 2, 1).squeeze(-1);
        var mean = statistics.narrow(-1, 0, 1).squeeze(-1) / seen;
        var variance = (statistics.narrow(-1, 1, 1).squeeze(-1) / seen).Minus(mean * mean).clamp_min(zero).Plus(tiny);
        var standardised = onsets.Minus(mean).div(variance.sqrt()).clamp(low, high);                         // [T, B]
        var history = state?.OnsetHistory ?? zeros(new long[] { longest, streams }, device: tokens.device);
        var extended = cat([history, standardised], 0);                                                     // [L + T, B]
        using Scalar lagFrom = (long)shortest, lagTo = longest + 1L, stepFrom = (long)longest, stepTo = longest + steps;
        using var lags = arange(lagFrom, lagTo, dtype: ScalarType.Int64, device: tokens.device);
        using var at = arange(stepFrom, stepTo, dtype: ScalarType.Int64, device: tokens.device).unsqueeze(1); // [T, 1]
        var backAt = at.Minus(lags.unsqueeze(0)).reshape(-1);
        // Held, the rates stay the carried ones and the onsets a lag back are not needed.
        var rates = HoldBeat && state?.BeatRates is { } held
            ? held.unsqueeze(0).expand(steps, -1, -1)
            : DecayedSums(extended.index_select(0, backAt).reshape(steps, lagCount, streams).permute(0, 2, 1) // [T, B, lags]
                * standardised.unsqueeze(-1), state?.BeatRates, BeatDecay, 1 - BeatDecay);
        var correlations = rates / seen.unsqueeze(-1);
        var weights = nn.functional.softmax(correlations * sharpness, -1);
        // The onset one period before the next step: extended[L + t + 1 - lag].
        var ahead = extended.index_select(0, backAt.Plus(stepOne)).reshape(steps, lagCount, streams).permute(0, 2, 1);
        var expected = (weights * ahead).sum(-1L);
        var periodicity = (weights * correlations).sum(-1L);
        var features = stack([expected, periodicity], -1);                                                   // [T, B, 2]
        return (features, extended.narrow(0, steps, longest).clone(), statistics[-1].clone(), rates[-1].clone(), statistics);
    }

    /// <summary>Steps the onset guide measures a token's rise over (the current one included): about 0.1 s.</summary>
    public const int GuideSpan = 4;

    /// <summary>
    /// How many deviations of the clock's onsets a token's onset counts for in the onset guide, at most, either way.
    /// At 1, every token that rises clearly is favoured alike at a beat and the network's own preference chooses
    /// among them; at 5, the broadband tokens that rise most won, and the takes grew noisy (hyperrogue's three
    /// training seeds: tonality 3.3-7.3 and FAD 1.06-1.46 at 5, 2.2-5.0 and 0.81-1.21 at 1).
    /// </summary>
    public const double GuideDeviations = 1;

    /// <summary>
    /// The beat clock's guide for the step after the last [B, V]: the expected onset, times the periodicity (0 where the
    /// clock hears no beat, so that no beat is imposed on music without one), times each token's own onset,
    /// standardised as the clock's onsets are (at most <see cref="GuideDeviations"/> either way). Positive where a token's onset is what
    /// the beat expects: one that rises where the beat expects an onset, or holds between beats. A token's onset here is its rise
    /// over the loudest of the last <see cref="GuideSpan"/> tokens in each band, not over the current one alone: measured
    /// over the previous token only, alternating a loud and a quiet token scored an onset every other step, its
    /// autocorrelation looked periodic at every even lag, and the guide drove takes into that flicker. Generation adds
    /// a multiple of the guide to the logits (beat guidance), which training and scoring never see; the onset term
    /// (<see cref="OnsetTerm"/>) adds a learned multiple of it in both.
    /// </summary>
    /// <param name="recent">The last <see cref="GuideSpan"/> tokens [span, B], the current one last.</param>
    /// <param name="features">The clock's features after the current token [B, 2]: the expected onset and the periodicity.</param>
    /// <param name="statistics">The clock's decayed onset statistics after the current token [B, 3] (see <see cref="Beat"/>).</param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // optimised from the first call (a cold generate: 1.4 s against 1.5 s without)
    private Tensor OnsetGuide(Tensor recent, Tensor features, Tensor statistics)
    {
        // In plain loops: the inputs are a few values per stream, and the tensor operations (twenty of them) cost a
        // sixth of a generation step.
        int span = (int)recent.shape[0], streams = (int)recent.shape[1];
        var descriptors = BeatDescriptorValues();
        var tokens = recent.cpu().contiguous().data<long>().ToArray().Select(t => (int)t).ToArray(); // [span, B]
        var clock = features.cpu().contiguous().data<float>().ToArray();    // [B, 2]
        var moments = statistics.cpu().contiguous().data<float>().ToArray(); // [B, 3]
        var guide = new float[streams * TokenCount];
        GuideValues(descriptors, BeatDescriptorSize, tokens, span, streams, clock, moments, guide);
        return tensor(guide, [streams, TokenCount], device: recent.device);
    }

    /// <summary>
    /// <see cref="OnsetGuide"/> after every step of <paramref name="tokens"/> [T, B] continuing <paramref name="state"/>,
    /// [T, B, V]: the guide each step's logits read, from the clock's <paramref name="features"/> [T, B, 2] and decayed
    /// <paramref name="moments"/> [T, B, 3] after that step, as generation makes it after each step (the onset term).
    /// Nothing in it is learned: it runs without gradients.
    /// </summary>
    private Tensor OnsetGuides(Tensor tokens, LstmState? state, Tensor features, Tensor moments)
    {
        long steps = tokens.shape[0], streams = tokens.shape[1];
        using var noGrad = no_grad();
        using Scalar zero = 0, tiny = 1e-6, low = -GuideDeviations, high = GuideDeviations;
        var descriptors = get_buffer("beat_descriptors")!;                                                   // [V, D]
        var carried = state?.RecentTokens ?? tokens[0].unsqueeze(0).expand(GuideSpan, -1);
        var joined = cat([carried.narrow(0, 1, GuideSpan - 1), tokens], 0);                                 // [span - 1 + T, B]
        var described = descriptors.index_select(0, joined.reshape(-1)).reshape(joined.shape[0], streams, -1);
        var loudest = described.narrow(0, 0, steps);
        for (int k = 1; k < GuideSpan; k++) loudest = maximum(loudest, described.narrow(0, k, steps));       // [T, B, D]
        var seen = moments.narrow(-1, 2, 1);
        var mean = moments.narrow(-1, 0, 1) / seen;                                                          // [T, B, 1]
        var deviation = (moments.narrow(-1, 1, 1) / seen).Minus(mean * mean).clamp_min(zero).Plus(tiny).sqrt();
        var scale = features.narrow(-1, 0, 1) * features.narrow(-1, 1, 1).clamp_min(zero);                  // [T, B, 1]
        var flat = loudest.reshape(steps * streams, 1, -1);
        var rises = new List<Tensor>();
        const int chunk = 128;
        for (long i = 0; i < flat.shape[0]; i += chunk)
        {
            using var part = flat.narrow(0, i, Math.Min(chunk, flat.shape[0] - i));
            rises.Add(descriptors.unsqueeze(0).Minus(part).clamp_min(zero).mean([-1L]));                     // [n, V]
        }
        var onsets = cat(rises, 0).reshape(steps, streams, -1);
        return onsets.Minus(mean).div(deviation).clamp(low, high) * scale;
    }

    /// <summary><see cref="OnsetGuide"/> on arrays: <paramref name="recent"/> [span, B], <paramref name="clock"/> [B, 2], <paramref name="moments"/> [B, 3] in, <paramref name="guide"/> [B, V] out.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static void GuideValues(float[] descriptors, int size, int[] recent, int span, int streams, float[] clock, float[] moments, float[] guide)
    {
        int tokenCount = descriptors.Length / size;
        Span<float> loudest = stackalloc float[size];
        for (int b = 0; b < streams; b++)
        {
            // Standardised as Beat standardises the clock's own onsets: bias-corrected decayed mean and variance.
            double seen = moments[b * 3 + 2], mean = moments[b * 3] / seen;
            double deviation = Math.Sqrt(Math.Max(0, moments[b * 3 + 1] / seen - mean * mean) + 1e-6);
            double scale = clock[b * BeatFeatures] * Math.Max(0, clock[b * BeatFeatures + 1]);
            loudest.Fill(float.NegativeInfinity);
            for (int k = 0; k < span; k++)
            {
                var heard = descriptors.AsSpan(recent[k * streams + b] * size, size);
                for (int i = 0; i < size; i++) loudest[i] = Math.Max(loudest[i], heard[i]);
            }
            for (int v = 0; v < tokenCount; v++)
            {
                var candidate = descriptors.AsSpan(v * size, size);
                float rises = 0;
                for (int i = 0; i < size; i++) rises += Math.Max(0, candidate[i] - loudest[i]);
                double z = Math.Clamp((rises / size - mean) / deviation, -GuideDeviations, GuideDeviations);
                guide[b * tokenCount + v] = (float)(scale * z);
            }
        }
    }

    /// <summary>
    /// How strongly the onset guide leans on stream <paramref name="stream"/>'s tokens after a step with these clock
    /// features [B, 2]: the size of the expected onset times the periodicity (0 where the clock hears no beat), the
    /// factor <see cref="GuideValues"/> scales every token's standardised onset by.
    /// </summary>
    public static float GuideScale(ReadOnlySpan<float> clock, int stream) =>
        Math.Abs(clock[stream * BeatFeatures]) * Math.Max(0, clock[stream * BeatFeatures + 1]);

    /// <summary>
    /// <see cref="GuideScale"/> after each step of <paramref name="tokens"/> read from a fresh state by a model with a beat
    /// clock, as its priming pass runs the clock (in plain loops: nothing else of the network is run).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no beat clock.</exception>
    public float[] GuideScales(IReadOnlyList<int> tokens)
    {
        if (!BeatClock) throw new InvalidOperationException("This model has no beat clock.");
        var (shortest, longest) = CopyLags;
        float[] history = new float[longest], shifted = new float[longest], moments = new float[3];
        float[] rates = new float[longest - shortest + 1], clock = new float[BeatFeatures];
        var scales = new float[tokens.Count];
        for (int t = 0; t < tokens.Count; t++)
        {
            // The first token of a fresh state rises over itself (no onset), as in Beat.
            AdvanceClock(BeatDescriptorValues(), BeatDescriptorSize, [tokens[t]], [tokens[Math.Max(0, t - 1)]], 1, history, shifted, moments, rates, clock);
            (history, shifted) = (shifted, history);
            scales[t] = GuideScale(clock, 0);
        }
        return scales;
    }

    // A managed copy of the beat descriptors for the plain loops; a buffer that is never trained, filled in at loading.
    private float[]? beatDescriptorValues;

    // The beat descriptors averaged into the texture's bands [V, S], made once (from the same buffer) at the first use.
    private float[]? textureDescriptorValues;

    private float[] BeatDescriptorValues() => beatDescriptorValues ??= get_buffer("beat_descriptors")!.cpu().contiguous().data<float>().ToArray();

    private float[] TextureDescriptorValues() => textureDescriptorValues ??= TextureDescriptors(BeatDescriptorValues(), BeatDescriptorSize, textureBands);

    /// <summary>
    /// <see cref="Beat"/> for one generation step on the CPU, in plain loops: the same figures as the tensor path without
    /// its forty small tensor operations (with them, bench generate ran at 16.4x real time, with the loop at 18x).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // optimised from the first call (a cold generate: 1.4 s against 1.5 s without)
    private (Tensor Features, Tensor History, Tensor Statistics, Tensor Rates, Tensor Moments) BeatStep(Tensor tokens, Tensor previousOnehot,
        Tensor carriedHistory, Tensor carriedMoments, Tensor carriedRates)
    {
        int streams = (int)tokens.shape[1], longest = CopyLags.Longest, size = BeatDescriptorSize;
        var descriptors = BeatDescriptorValues();
        var current = tokens.data<long>().ToArray().Select(t => (int)t).ToArray();
        var previous = previousOnehot.argmax(-1L).data<long>().ToArray().Select(t => (int)t).ToArray();
        var history = carriedHistory.contiguous().data<float>().ToArray();   // [L, B]
        var moments = carriedMoments.contiguous().data<float>().ToArray();   // [B, 3]
        var rates = carriedRates.contiguous().data<float>().ToArray();       // [B, lags]
        var features = new float[streams * BeatFeatures];
        var shifted = new float[history.Length];
        AdvanceClock(descriptors, size, current, previous, streams, history, shifted, moments, rates, features, HoldBeat);
        var statistics = tensor(moments, [streams, 3]);
        return (tensor(features, [1, streams, BeatFeatures]), tensor(shifted, [longest, streams]), statistics,
            tensor(rates, [streams, rates.Length / streams]), statistics.unsqueeze(0));
    }

    /// <summary>
    /// <see cref="BeatStep"/> on arrays: the onsets of <paramref name="current"/> over <paramref name="previous"/> tokens
    /// ([B] each) advance <paramref name="moments"/> [B, 3] and <paramref name="rates"/> [B, lags] in place, write the
    /// history one step on into <paramref name="shifted"/> [L, B] (from <paramref name="history"/>, which may be the same
    /// array only if the caller copies first) and the clock's features into <paramref name="features"/> [B, 2];
    /// <paramref name="holdRates"/> leaves the rates as they are (<see cref="HoldBeat"/>).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static void AdvanceClock(float[] descriptors, int size, int[] current, int[] previous, int streams, float[] history, float[] shifted,
        float[] moments, float[] rates, float[] features, bool holdRates = false)
    {
        var (shortest, longest) = CopyLags;
        int lagCount = longest - shortest + 1;
        Span<double> weights = stackalloc double[lagCount];
        Array.Copy(history, streams, shifted, 0, history.Length - streams);
        for (int b = 0; b < streams; b++)
        {
            var now = descriptors.AsSpan(current[b] * size, size);
            var before = descriptors.AsSpan(previous[b] * size, size);
            double rise = 0;
            for (int i = 0; i < size; i++) rise += Math.Max(0, now[i] - before[i]);
            float onset = (float)(rise / size);
            float[] step = [onset, onset * onset, 1];
            for (int k = 0; k < 3; k++) moments[b * 3 + k] = (float)(BeatDecay * moments[b * 3 + k] + (1 - BeatDecay) * step[k]);
            double seen = moments[b * 3 + 2], mean = moments[b * 3] / seen;
            double variance = Math.Max(0, moments[b * 3 + 1] / seen - mean * mean) + 1e-6;
            float z = (float)Math.Clamp((onset - mean) / Math.Sqrt(variance), -5, 5);
            double top = double.NegativeInfinity;
            for (int j = 0; j < lagCount; j++)
            {
                int lag = shortest + j;
                ref float rate = ref rates[b * lagCount + j];
                if (!holdRates) rate = (float)(BeatDecay * rate + (1 - BeatDecay) * z * history[(longest - lag) * streams + b]);
                top = Math.Max(top, BeatSharpness * rate / seen);
            }
            double sum = 0, expected = 0, periodicity = 0;
            for (int j = 0; j < lagCount; j++) sum += weights[j] = Math.Exp(BeatSharpness * rates[b * lagCount + j] / seen - top);
            for (int j = 0; j < lagCount; j++)
            {
                int lag = shortest + j;
                expected += weights[j] / sum * history[(longest + 1 - lag) * streams + b];
                periodicity += weights[j] / sum * rates[b * lagCount + j] / seen;
            }
            features[b * BeatFeatures] = (float)expected;
            features[b * BeatFeatures + 1] = (float)periodicity;
            shifted[(longest - 1) * streams + b] = z;
        }
    }

    /// <summary>
    /// For every step t, how often each token followed the token at t earlier in the stream ([T, B, V]), counting the
    /// pairs in <paramref name="state"/>'s successor table; <paramref name="successors"/> is that table after the last
    /// step ([B, V, V]: row a, column b counts b after a).
    /// </summary>
    internal static Tensor SuccessorCounts(Tensor onehot, LstmState? state, out Tensor successors)
    {
        long steps = onehot.shape[0];
        var now = onehot.permute(1, 0, 2);                                                // [B, T, V]
        if (steps == 1 && state?.Caches is { } last && state.Successors is { } carriedTable)
        {
            // One generation step: count the pair (previous, current) in the carried table in place (copying a
            // V x V table per step cost more than the rest of the step) and hand on a new handle to it; then read
            // the current token's row.
            long streams = onehot.shape[1], tokens = onehot.shape[2];
            var current = onehot[0].argmax(-1L).unsqueeze(1);                               // [B, 1] (one token per stream)
            var previous = last[0].argmax(-1L).unsqueeze(1);                                // [B, 1]
            var seen = last[0].sum(-1L, keepdim: true);                                     // [B, 1]: 0 before any token
            using Scalar width = tokens;
            carriedTable.view(streams, tokens * tokens).scatter_add_(1, previous.mul(width).Plus(current), seen);
            successors = carriedTable.view(streams, tokens, tokens);
            return carriedTable.gather(1, current.unsqueeze(2).expand(streams, 1, tokens)).permute(1, 0, 2);
        }
        // The token before each step: the carried previous token (the decay-0 cache) before the first.
        var first = state?.Caches is { } carried ? carried[0].unsqueeze(0) : zeros_like(onehot.narrow(0, 0, 1));
        var before = cat([first, onehot.narrow(0, 0, steps - 1)], 0).permute(1, 0, 2); // [B, T, V]
        // matches[b, t, s] = 1 where the token before step s is the token at step t, for s <= t: step s's token followed it.
        var matches = bmm(now, before.transpose(1, 2)).tril();
        var counts = bmm(matches, now);                                                   // [B, T, V]
        successors = bmm(before.transpose(1, 2), now);                                    // [B, V, V]
        if (state?.Successors is { } table)
        {
            counts = counts.Plus(bmm(now, table));
            successors = successors.Plus(table);
        }
        return counts.permute(1, 0, 2);
    }

    /// <summary>
    /// The periodic copy's proposal for every step ([T, B, V], each row summing to 1 or 0 before any history), the last
    /// <see cref="CopyLags"/>.Longest tokens ([L, B], -1 where none) and the decayed match rate of each lag ([B, lags]).
    /// </summary>
    internal (Tensor Copy, Tensor History, Tensor Rates) PeriodCopy(Tensor tokens, LstmState? state)
    {
        var (shortest, longest) = CopyLags;
        long steps = tokens.shape[0], streams = tokens.shape[1];
        int lagCount = longest - shortest + 1;
        // Every Scalar is held for the whole call (docs/design.md: TorchSharp does not keep temporaries alive).
        using Scalar none = -1L, zero = 0L, keep = CopyDecay, gain = 1 - CopyDecay, twenty = 20;
        Tensor followers, rates, history;
        using (no_grad())
        {
            var before = state?.History ?? full(new long[] { longest, streams }, none, dtype: ScalarType.Int64, device: tokens.device);
            Tensor matches; // [T, B, lags]
            if (steps == 1 && tokens.device_type == DeviceType.CPU && !is_grad_enabled() && state?.MatchRates is not null)
                return PeriodCopyStep(tokens, before, state.MatchRates);
            if (steps == 1)
            {
                // One generation step: the lags look back into the history alone.
                var back = before.index_select(0, LagIndex(longest, 0, tokens.device));                            // [lags, B]
                matches = back.eq(tokens).logical_and(back.ge(zero)).to_type(ScalarType.Float32).t().unsqueeze(0);
                followers = before.index_select(0, LagIndex(longest, 1, tokens.device)).t().unsqueeze(0);          // [1, B, lags]
                rates = matches * gain;
                if (state?.MatchRates is { } previous) rates = rates.Plus(previous.unsqueeze(0) * keep);
                history = cat([before.narrow(0, 1, longest - 1), tokens], 0);
            }
            else
            {
                var extended = cat([before, tokens], 0); // [L + T, B]
                using Scalar lagFrom = (long)shortest, lagTo = longest + 1L, stepFrom = (long)longest, stepTo = longest + steps;
                using var lags = arange(lagFrom, lagTo, dtype: ScalarType.Int64, device: tokens.device);
                using var at = arange(stepFrom, stepTo, dtype: ScalarType.Int64, device: tokens.device).unsqueeze(1); // [T, 1]
                var backAt = at.Minus(lags.unsqueeze(0)).reshape(-1);
                var back = extended.index_select(0, backAt).reshape(steps, lagCount, streams);
                matches = back.eq(tokens.unsqueeze(1)).logical_and(back.ge(zero)).to_type(ScalarType.Float32).permute(0, 2, 1);
                rates = DecayedSums(matches, state?.MatchRates, CopyDecay, 1 - CopyDecay);
                // The token that followed each lag's match: extended[L + t + 1 - lag] = extended[backAt + 1].
                using Scalar one = 1L;
                followers = extended.index_select(0, backAt.Plus(one)).reshape(steps, lagCount, streams).permute(0, 2, 1); // [T, B, lags]
                history = extended.narrow(0, steps, longest).clone();
            }
        }
        var valid = followers.ge(zero).to_type(ScalarType.Float32);
        var lagWeights = nn.functional.softmax(rates * periodSharpness!.exp().mul(twenty), -1) * valid; // [T, B, lags]
        var proposal = zeros(new long[] { steps, streams, TokenCount }, device: tokens.device).scatter_add(2, followers.clamp_min(zero), lagWeights);
        return (proposal, history, rates[-1].clone());
    }

    /// <summary>
    /// <see cref="PeriodCopy"/> for one generation step on the CPU, in plain loops: the same figures as the tensor
    /// path, without its thirty small tensor operations (a fifth of a generation step's time).
    /// </summary>
    private (Tensor Copy, Tensor History, Tensor Rates) PeriodCopyStep(Tensor tokens, Tensor before, Tensor previousRates)
    {
        var (shortest, longest) = CopyLags;
        int streams = (int)tokens.shape[1], lagCount = longest - shortest + 1;
        var current = tokens.data<long>().ToArray();
        var history = before.contiguous().data<long>().ToArray();       // [L, B]
        var rates = previousRates.contiguous().data<float>().ToArray();  // [B, lags]
        double sharpness = 20 * Math.Exp(periodSharpness!.item<float>());
        var proposal = new float[streams * TokenCount];
        var weights = new double[lagCount];
        for (int b = 0; b < streams; b++)
        {
            double top = double.NegativeInfinity;
            for (int j = 0; j < lagCount; j++)
            {
                int lag = shortest + j;
                long back = history[(longest - lag) * streams + b];
                float rate = (float)(CopyDecay * rates[b * lagCount + j] + (back >= 0 && back == current[b] ? 1 - CopyDecay : 0));
                rates[b * lagCount + j] = rate;
                top = Math.Max(top, rate * sharpness);
            }
            double sum = 0;
            for (int j = 0; j < lagCount; j++) sum += weights[j] = Math.Exp(rates[b * lagCount + j] * sharpness - top);
            for (int j = 0; j < lagCount; j++)
            {
                long follower = history[(longest + 1 - shortest - j) * streams + b];
                if (follower >= 0) proposal[b * TokenCount + follower] += (float)(weights[j] / sum);
            }
        }
        var shifted = new long[history.Length];
        Array.Copy(history, streams, shifted, 0, history.Length - streams);
        Array.Copy(current, 0, shifted, history.Length - streams, streams);
        return (tensor(proposal, [1, streams, TokenCount]), tensor(shifted, [longest, streams]), tensor(rates, [streams, lagCount]));
    }

    private static readonly Dictionary<(int Longest, int Offset, DeviceType Device), Tensor> lagIndices = new();

    /// <summary>For one step after a history of <paramref name="longest"/> tokens: the history rows at each lag, minus <paramref name="offset"/>.</summary>
    private static Tensor LagIndex(int longest, int offset, Device device)
    {
        lock (lagIndices)
        {
            if (!lagIndices.TryGetValue((longest, offset, device.type), out var index))
            {
                var (shortest, _) = CopyLags;
                index = tensor(Enumerable.Range(shortest, longest - shortest + 1).Select(lag => (long)(longest - lag + offset)).ToArray(), device: device);
                index.DetachFromDisposeScope();
                lagIndices[(longest, offset, device.type)] = index;
            }
            return index;
        }
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
            Successors = Successors?.detach().MoveToOuterDisposeScope(),
            History = History?.detach().MoveToOuterDisposeScope(),
            MatchRates = MatchRates?.detach().MoveToOuterDisposeScope(),
            OnsetHistory = OnsetHistory?.detach().MoveToOuterDisposeScope(),
            OnsetStatistics = OnsetStatistics?.detach().MoveToOuterDisposeScope(),
            BeatRates = BeatRates?.detach().MoveToOuterDisposeScope(),
            OnsetGuide = OnsetGuide?.detach().MoveToOuterDisposeScope(),
            Clock = Clock?.detach().MoveToOuterDisposeScope(),
            RecentTokens = RecentTokens?.detach().MoveToOuterDisposeScope(),
            Texture = Texture?.detach().MoveToOuterDisposeScope(),
        };

    /// <summary>A token model with a successor cache: how often each token followed each other token so far [B, V, V]; else null.</summary>
    public Tensor? Successors { get; init; }

    /// <summary>A token model with a periodic copy: the stream's last tokens [lags, B] (-1: none yet); else null.</summary>
    public Tensor? History { get; init; }

    /// <summary>A token model with a periodic copy: each lag's decayed match rate [B, lags]; else null.</summary>
    public Tensor? MatchRates { get; init; }

    /// <summary>A token model with a beat clock: the last standardised onsets [<see cref="FrameLstm.CopyLags"/>.Longest, B]; else null.</summary>
    public Tensor? OnsetHistory { get; init; }

    /// <summary>A token model with a beat clock: the onsets' decayed statistics [B, 3]; else null.</summary>
    public Tensor? OnsetStatistics { get; init; }

    /// <summary>A token model with a beat clock: each lag's decayed autocorrelation sum [B, lags]; else null.</summary>
    public Tensor? BeatRates { get; init; }

    /// <summary>
    /// A token model with a beat clock, not training: for the next step, how well each token's onset fits the onset the
    /// beat expects [B, V] (positive: fits), which generation's beat guidance adds to the logits; else null.
    /// </summary>
    public Tensor? OnsetGuide { get; init; }

    /// <summary>
    /// A token model with a beat clock, not training: the clock's features after the last step [B, 2] (the expected
    /// onset and the periodicity, which the onset guide is scaled by); else null.
    /// </summary>
    public Tensor? Clock { get; init; }

    /// <summary>A token model with a beat clock, not training: the last <see cref="FrameLstm.GuideSpan"/> tokens [span, B]; else null.</summary>
    public Tensor? RecentTokens { get; init; }

    /// <summary>A token model with a texture input: the texture's decayed sums [B, 2S + 1] (<see cref="FrameLstm.TextureInput"/>); else null.</summary>
    public Tensor? Texture { get; init; }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var (h, c) in Layers)
        {
            h.Dispose();
            c.Dispose();
        }
        Caches?.Dispose();
        Successors?.Dispose();
        History?.Dispose();
        MatchRates?.Dispose();
        OnsetHistory?.Dispose();
        OnsetStatistics?.Dispose();
        BeatRates?.Dispose();
        OnsetGuide?.Dispose();
        Clock?.Dispose();
        RecentTokens?.Dispose();
        Texture?.Dispose();
    }
}
