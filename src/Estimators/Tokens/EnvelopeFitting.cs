using MusicGen.Estimators.Training;
using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Tokens;
using MusicGen.Transforms.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MusicGen.Estimators.Tokens;

/// <summary>
/// Fits a codebook's <see cref="EnvelopeLstm"/>: an LSTM over (token, previous frame's envelope residual) trained to
/// predict each frame's residual (mean squared error) on windows of the training music, with Gaussian noise on the
/// residual it reads, so that it keeps its footing when it reads its own predictions while generating.
/// </summary>
public static class EnvelopeFitting
{
    /// <summary>Default values of the fit.</summary>
    public static class Defaults
    {
        /// <summary>
        /// Mel bands of the envelope. At 22050 Hz and 2048-sample frames (and bands at least a bin apart) each bin up to
        /// 5.8 kHz has its own: the envelope spells the frame's partials bin by bin there, and the exemplar under it adds
        /// the fine structure of the bands above (1.3 bins apart at 8 kHz). On hyperrogue-music 768 plain mel bands
        /// against 192 took codec transparency from 0.25 to 0.09 and the takes' FAD from 1.35 to 0.95, and on a
        /// laboratory with another composer's reference the codec from 1.38 to 0.68; 896 floored bands against 768 took
        /// that laboratory's codec from 0.183 to 0.154, where unquantised magnitudes score 0.152 (docs/evaluation.md).
        /// </summary>
        public const int Bands = 896;
        /// <summary>
        /// Whether the bands are at least a bin apart (<see cref="MelFilters.BinFloored"/>): at 896 bands one per bin up to
        /// 5.8 kHz and 1.3 bins apart at 8 kHz, where 768 plain mel bands put two filters on each bin below 2.3 kHz and
        /// three bins under each at 8 kHz. What the plain layout lost was all above 2 kHz (docs/evaluation.md).
        /// </summary>
        public const bool BinFloored = true;
        /// <summary>Size of a token's embedding.</summary>
        public const int EmbeddingSize = 32;
        /// <summary>LSTM hidden size.</summary>
        public const int HiddenSize = 128;
        /// <summary>Updates at most.</summary>
        public const int Steps = 600;
        /// <summary>Passes over the music at most: a short collection takes fewer updates than <see cref="Steps"/>.</summary>
        public const int Passes = 64;
        /// <summary>Frames per training window.</summary>
        public const int Window = 64;
        /// <summary>Windows per update.</summary>
        public const int Batch = 32;
        /// <summary>Standard deviation of the noise on the residual read (log-magnitude units).</summary>
        public const double InputNoise = 0.3;
        /// <summary>Adam's step size.</summary>
        public const double LearningRate = 2e-3;
        /// <summary>
        /// Frames learned from at most (about 50 minutes at hop 512 and 22050 Hz; 448 MB of residuals at 896 bands): a
        /// larger collection is sampled by whole pieces, so memory does not follow the collection.
        /// </summary>
        public const int MaxFrames = 131_072;
    }

    /// <summary>
    /// Fits the envelope channel of <paramref name="codebook"/> on log-magnitude frames ([frames, bins] row-major, one
    /// array per file or piece of one), read once (at most <see cref="Defaults.MaxFrames"/> of them kept), with <paramref name="steps"/> updates or <paramref name="passes"/>
    /// passes over the frames, whichever is fewer. Deterministic for a given <paramref name="seed"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No piece is two frames long.</exception>
    public static EnvelopeLstm Fit(Codebook codebook, IEnumerable<float[]> files, int frameSize, int sampleRate, int bands = Defaults.Bands,
        int steps = Defaults.Steps, int seed = 1, int embeddingSize = Defaults.EmbeddingSize, int hiddenSize = Defaults.HiddenSize, int passes = Defaults.Passes,
        bool binFloored = Defaults.BinFloored)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bands, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 0);
        var envelope = new MelEnvelope(bands, frameSize, sampleRate, binFloored);
        var exemplars = EnvelopeLstm.ExemplarEnergies(codebook, envelope);
        // Weighted reservoir sampling of whole pieces (each with a key u^(1 / frames), the largest keys kept while they
        // fit in MaxFrames): every piece is kept, in order, when the collection fits, and memory is bounded when it does not.
        var draw = new Random(seed + 1);
        var kept = new PriorityQueue<(int Order, int[] Tokens, float[] Residuals), double>();
        long keptFrames = 0;
        int order = 0;
        foreach (var frames in files)
        {
            int count = frames.Length / codebook.Bins;
            if (count < 2) continue;
            double key = Math.Pow(draw.NextDouble(), 1.0 / count);
            if (keptFrames + count > Defaults.MaxFrames && kept.TryPeek(out _, out double lowest) && key <= lowest) continue;
            var tokens = codebook.Encode(frames);
            kept.Enqueue((order++, tokens, EnvelopeLstm.Residuals(envelope, exemplars, frames, tokens)), key);
            keptFrames += count;
            while (keptFrames > Defaults.MaxFrames && kept.Count > 1) keptFrames -= kept.Dequeue().Tokens.Length;
        }
        if (kept.Count == 0) throw new InvalidOperationException("There is no music to learn the envelope from (no piece two frames long).");
        var pieces = kept.UnorderedItems.Select(item => item.Element).OrderBy(p => p.Order).Select(p => (p.Tokens, p.Residuals)).ToList();

        manual_seed(seed);
        var rng = new Random(seed);
        using var network = new EnvelopeNetwork(codebook.TokenCount, embeddingSize, bands, hiddenSize);
        // Trained with oneDNN only where its LSTM kernel agrees with LibTorch's own, which the exported loop follows.
        using var oneDnn = OneDnn.Scope(OneDnn.LstmAgrees(embeddingSize + bands, hiddenSize));
        using var optimizer = new AdamOptimizer(network.parameters(), Defaults.LearningRate);
        const int window = Defaults.Window, batch = Defaults.Batch;
        long total = pieces.Sum(p => (long)p.Tokens.Length - 1);
        var tokenBatch = new long[batch * window];
        var readBatch = new float[batch * window * bands];
        var targetBatch = new float[batch * window * bands];
        var mask = new float[batch * window];
        using Scalar noiseScale = Defaults.InputNoise, bandCount = bands; // held for the calls (docs/design.md, "Scalars must outlive the call")
        long updates = Math.Min(steps, (long)Math.Ceiling((double)passes * total / (batch * window)));
        for (int step = 0; step < updates; step++)
        {
            using var scope = NewDisposeScope();
            Array.Clear(mask);
            for (int i = 0; i < batch; i++)
            {
                // Windows are drawn in proportion to the pieces' lengths; each predicts frames 1.. of its piece.
                long at = rng.NextInt64(total);
                int p = 0;
                while (at >= pieces[p].Tokens.Length - 1) at -= pieces[p++].Tokens.Length - 1;
                var (tokens, residuals) = pieces[p];
                int start = 1 + (int)Math.Max(0, Math.Min(at, tokens.Length - 1 - window));
                for (int t = 0; t < window && start + t < tokens.Length; t++)
                {
                    int row = i * window + t;
                    tokenBatch[row] = tokens[start + t];
                    Array.Copy(residuals, (start + t - 1) * bands, readBatch, row * bands, bands);
                    Array.Copy(residuals, (start + t) * bands, targetBatch, row * bands, bands);
                    mask[row] = 1;
                }
            }
            var read = tensor(readBatch, [batch, window, bands]);
            read = read.Plus(randn_like(read).mul(noiseScale));
            var predicted = network.call(tensor(tokenBatch, [batch, window]), read);
            var weights = tensor(mask, [batch, window, 1]);
            var loss = predicted.Minus(tensor(targetBatch, [batch, window, bands])).Squared().mul(weights).sum().div(weights.sum().mul(bandCount));
            network.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(network.parameters(), 1.0);
            optimizer.Step();
            double value = loss.item<float>();
            if (!double.IsFinite(value))
                throw new InvalidOperationException($"Fitting the envelope stopped: the loss became {value} at step {step}.");
        }
        return network.ToEnvelope(codebook, envelope);
    }

    /// <summary>Embedding [tokens, E]; LSTM over [E + B] inputs, H units; Linear H to B. Input [N, T] tokens and [N, T, B] residuals; output [N, T, B].</summary>
    internal sealed class EnvelopeNetwork : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly Embedding embedding;
        private readonly LSTM lstm;
        private readonly Linear head;
        private readonly int embeddingSize, hiddenSize;

        public EnvelopeNetwork(int tokens, int embeddingSize, int bands, int hiddenSize) : base(nameof(EnvelopeNetwork))
        {
            embedding = nn.Embedding(tokens, embeddingSize);
            lstm = nn.LSTM(embeddingSize + bands, hiddenSize, batchFirst: true);
            head = nn.Linear(hiddenSize, bands);
            this.embeddingSize = embeddingSize;
            this.hiddenSize = hiddenSize;
            RegisterComponents();
        }

        public override Tensor forward(Tensor tokens, Tensor residuals)
        {
            var (output, _, _) = lstm.call(cat([embedding.call(tokens), residuals], 2));
            return head.call(output);
        }

        public EnvelopeLstm ToEnvelope(Codebook codebook, MelEnvelope envelope)
        {
            using var noGrad = no_grad();
            float[] Of(Tensor t) => Tensors.ToArray(t.detach().contiguous());
            var p = lstm.named_parameters().ToDictionary(x => x.name, x => x.parameter);
            return new EnvelopeLstm(codebook, envelope, embeddingSize, hiddenSize, Of(embedding.weight!),
                Of(p["weight_ih_l0"]), Of(p["weight_hh_l0"]), Of(p["bias_ih_l0"]), Of(p["bias_hh_l0"]), Of(head.weight!), Of(head.bias!));
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                embedding.Dispose();
                lstm.Dispose();
                head.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
