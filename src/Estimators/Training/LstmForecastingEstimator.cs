using Microsoft.ML;
using MusicGen.Estimators.Training;
using MusicGen.Transforms;
using MusicGen.Transforms.Batching;
using MusicGen.Transforms.Data;
using MusicGen.Transforms.Network;
using MusicGen.Transforms.Tokens;
using static TorchSharp.torch;

namespace MusicGen.Estimators;

/// <summary>
/// Trains a stacked LSTM (TorchSharp) to predict each row's target from its features, with the recurrent state
/// carried from batch to batch along each stream (detached: truncated backpropagation through time over
/// <see cref="Options.SequenceLength"/> batches per step) and reset where ResetState is set; Adam, a fixed random seed.
/// On feature frames it regresses the next frame (MSE); on a token column (the tokenizer's, which says so in its
/// annotations) it predicts the next token's distribution (cross-entropy). The loop itself, validation, checkpoints
/// and the backoff live in Training/ (<see cref="Training.LstmTrainer"/>). Input: File, the features and the target
/// (fixed-size vectors of Single), and the Stream and ResetState columns of stateful batching. Output: the input's
/// columns plus the prediction (the next frame, or one logit per token). Trains.
/// Created by <see cref="MusicGenCatalog.PredictNextFrame(TransformsCatalog, int, int, int)"/>.
/// </summary>
public sealed class LstmForecastingEstimator : IEstimator<LstmForecastingTransformer>
{
    private readonly Options options;

    internal LstmForecastingEstimator(Options options)
    {
        options.Validate();
        this.options = options;
    }

    /// <summary>Default values of <see cref="Options"/>: the 2017 model.</summary>
    public static class Defaults
    {
        /// <summary>Epochs, as in 2017.</summary>
        public const int Epochs = 10;
        /// <summary>LSTM layers.</summary>
        public const int Layers = 3;
        /// <summary>Units per LSTM layer.</summary>
        public const int HiddenSize = 256;
        /// <summary>Adam's learning rate (Keras' default, which 2017 used).</summary>
        public const float LearningRate = 1e-3f;
        /// <summary>Batches per optimizer step: 1, as the 2017 stateful Keras model did.</summary>
        public const int SequenceLength = 1;
        /// <summary>Random seed.</summary>
        public const int Seed = 1;
        /// <summary>Output column of predictions.</summary>
        public const string OutputColumn = "PredictedFeatures";

        /// <summary>Dropout after each of the three 2017 layers.</summary>
        public static IReadOnlyList<float> Dropouts => [0.5f, 0.3f, 0.2f];
    }

    /// <summary>Options of <see cref="LstmForecastingEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>Passes over the data. Default 10.</summary>
        public int Epochs { get; set; } = Defaults.Epochs;
        /// <summary>Units of each LSTM layer, bottom first. Default 3 x 256.</summary>
        public int[] HiddenSizes { get; set; } = Enumerable.Repeat(Defaults.HiddenSize, Defaults.Layers).ToArray();
        /// <summary>Dropout after each LSTM layer. Default 0.5, 0.3, 0.2.</summary>
        public float[] Dropouts { get; set; } = Defaults.Dropouts.ToArray();
        /// <summary>Adam's learning rate. Default 0.001.</summary>
        public float LearningRate { get; set; } = Defaults.LearningRate;
        /// <summary>Learning-rate schedule: the rate is multiplied by this after every epoch. Default 1 (constant).</summary>
        public float LearningRateDecay { get; set; } = 1f;
        /// <summary>Batches per optimizer step (truncated backpropagation through time). Default 1.</summary>
        public int SequenceLength { get; set; } = Defaults.SequenceLength;
        /// <summary>Clip the gradient norm to this; 0 (default) does not clip.</summary>
        public float GradientClipNorm { get; set; }
        /// <summary>
        /// Tokens the input holds. 0 (the default) reads it from the features column: the output of
        /// <see cref="TokenizingEstimator"/> carries its token count (<see cref="TokenAnnotations"/>), and the network then
        /// embeds one token per row and predicts the next token's distribution (softmax, cross-entropy); any other
        /// column holds feature frames and the network regresses the next frame with MSE. Above 0, the input holds
        /// token numbers below it whatever the column says.
        /// </summary>
        public int TokenCount { get; set; }
        /// <summary>
        /// A token model: embed and score tokens through one shared projection of their descriptors (the tokenizer's
        /// codebook centroids, read from the token column's annotations) instead of a free vector per token. Default false.
        /// </summary>
        public bool DescribeTokens { get; set; }
        /// <summary>
        /// A token model with validation and the tokenizer's statistics in its token column: after training, interpolate
        /// the network's distribution with "repeat the previous token, else the training frequencies", weighted as fits
        /// the held-out steps best (see <see cref="FrameLstm.SetBackoff"/>). Default true.
        /// </summary>
        public bool FitBackoff { get; set; } = true;
        /// <summary>
        /// A token model with the tokenizer's statistics in its token column: start the untrained network at "repeat the
        /// previous token, else the training frequencies" (see <see cref="FrameLstm.StartFromBaseline"/>). Default true.
        /// </summary>
        public bool StartFromBaseline { get; set; } = true;
        /// <summary>
        /// A token model: add the successor cache, "what followed the current token earlier in this stream" (see
        /// <see cref="FrameLstm.SuccessorCache"/>). Default true.
        /// </summary>
        public bool SuccessorCache { get; set; } = true;
        /// <summary>
        /// A token model: mix in a copy from one period earlier, the period found in the stream itself (see
        /// <see cref="FrameLstm.PeriodicCopy"/>). Default false: it lowers the held-out cross-entropy, but in generation
        /// it copies the take's own tokens, each copy makes the next likelier, and takes froze into a few tokens or an
        /// exact quarter-second loop (docs/evaluation.md); beat guidance keeps the beat without it.
        /// </summary>
        public bool PeriodicCopy { get; set; }
        /// <summary>
        /// A token model read from <c>Tokenize</c>'s output: give the network a beat clock, the onset one period before
        /// each next step, found from its tokens' descriptions (<see cref="FrameLstm.BeatClock"/>). Default true.
        /// </summary>
        public bool BeatClock { get; set; } = true;
        /// <summary>
        /// A token model with a beat clock: add a learned multiple of the clock's onset guide to every token's logit, in
        /// training as in generation (<see cref="FrameLstm.OnsetTerm"/>). Default false: it predicts held-out music
        /// better, but with the beat guidance on top the takes scored no better, and without it they kept no beat
        /// (docs/evaluation.md, "The onset term").
        /// </summary>
        public bool OnsetTerm { get; set; }
        /// <summary>
        /// A token model with a beat clock: give the network the song's texture too, the decayed mean and spread of the
        /// tokens' descriptions (<see cref="FrameLstm.TextureInput"/>), held at the seed's while generating. Default false.
        /// </summary>
        public bool TextureInput { get; set; }
        /// <summary>Embedding size of a token model. Default 128.</summary>
        public int EmbeddingSize { get; set; } = 128;
        /// <summary>
        /// Share of a token model's input tokens replaced by random tokens while training (the targets stay), so that
        /// the network learns to recover from unlikely inputs such as its own sampled mistakes. Default 0.
        /// </summary>
        public float TokenNoise { get; set; }
        /// <summary>
        /// Share of a token model's training streams whose tokens are renamed, each segment, by a random permutation of
        /// the codebook (inputs and targets alike). A renamed stream is music whose sounds the network's weights cannot
        /// know: only what the stream itself played (its caches and successor counts) predicts it, as for a seed from
        /// music never trained on. Default 0.
        /// </summary>
        public float RelabelShare { get; set; }
        /// <summary>Seed of torch's random generator (weights, dropout). Default 1.</summary>
        public int Seed { get; set; } = Defaults.Seed;
        /// <summary>
        /// Share of the audio held out for validation (0, the default, turns validation off): whole files, spread over
        /// the list, when there are 3 or more and the training data fits in memory (token models always do); else that
        /// share of each file from its end (<see cref="HoldOut"/>): the last streams under contiguous streams, else the last
        /// steps, where the state runs into the held-out part from the trained part. Held-out frames are never trained on.
        /// </summary>
        public double ValidationFraction { get; set; }
        /// <summary>
        /// Where to write a checkpoint at the end of every epoch (network, optimizer state, epoch and random state,
        /// written atomically); null (default) writes none.
        /// </summary>
        public string? CheckpointPath { get; set; }
        /// <summary>
        /// Stop when the validation loss has not improved for this many epochs (0, the default, never stops early).
        /// Needs <see cref="ValidationFraction"/> above 0.
        /// </summary>
        public int EarlyStoppingPatience { get; set; }
        /// <summary>
        /// Also write a checkpoint at the end of the first file (segment) that ends this long after the last one, so
        /// that a long epoch loses little when interrupted; zero writes them at epoch ends only. Default 10 minutes.
        /// A cancellation is honoured at the end of the current file, after writing a checkpoint there.
        /// </summary>
        public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(10);
        /// <summary>
        /// What identifies the training data (e.g. a hash of the files' paths, sizes and times), written into checkpoints
        /// so that resuming with other data is refused. Null (default): not checked.
        /// </summary>
        public string? DataFingerprint { get; set; }
        /// <summary>Continue from <see cref="CheckpointPath"/> when it exists (same data and options give the same weights as an uninterrupted run).</summary>
        public bool Resume { get; set; }
        /// <summary>
        /// Where to train: "cpu" (default) or "cuda" (the first GPU; needs a CUDA build of TorchSharp in place of the
        /// CPU one this project ships, and refuses clearly otherwise). The trained network comes back on the CPU.
        /// </summary>
        public string Device { get; set; } = "cpu";
        /// <summary>Torch threads; 0 (default) leaves torch's choice (one per core).</summary>
        public int Threads { get; set; }
        /// <summary>Input file column. Default "File".</summary>
        public string FileColumnName { get; set; } = FftVectorizingEstimator.Defaults.FileColumn;
        /// <summary>Input features column. Default "Features".</summary>
        public string FeaturesColumnName { get; set; } = FftVectorizingEstimator.Defaults.FeaturesColumn;
        /// <summary>Input target column. Default "Target".</summary>
        public string TargetColumnName { get; set; } = StatefulBatchingEstimator.Defaults.TargetColumn;
        /// <summary>Input stream column. Default "Stream".</summary>
        public string StreamColumnName { get; set; } = StatefulBatchingEstimator.Defaults.StreamColumn;
        /// <summary>Input reset column. Default "ResetState".</summary>
        public string ResetStateColumnName { get; set; } = StatefulBatchingEstimator.Defaults.ResetStateColumn;
        /// <summary>Output prediction column. Default "PredictedFeatures".</summary>
        public string OutputColumnName { get; set; } = Defaults.OutputColumn;
        /// <summary>Called with progress during training (not saved with the model).</summary>
        public Action<TrainingProgress>? Progress { get; set; }
        /// <summary>
        /// Called after every epoch (and its checkpoint) with the network as it stands, wrapped in a transformer, and
        /// the epoch: for previews. The network is in evaluation mode during the call; do not dispose the transformer.
        /// </summary>
        public Action<LstmForecastingTransformer, int>? EpochEnd { get; set; }
        /// <summary>Stops training between steps (not saved with the model).</summary>
        public CancellationToken CancellationToken { get; set; }

        internal void Validate()
        {
            var problems = new List<string>();
            if (Epochs < 1) problems.Add($"Epochs must be at least 1, not {Epochs}.");
            if (HiddenSizes is null || HiddenSizes.Length is 0 or > 32 || HiddenSizes.Any(h => h is < 1 or > 8192))
                problems.Add("HiddenSizes must list 1 to 32 layer sizes, each from 1 to 8192.");
            if (Dropouts is null || Dropouts.Length != (HiddenSizes?.Length ?? 0)) problems.Add("Dropouts must give one rate per layer.");
            else if (Dropouts.Any(d => d is < 0 or >= 1)) problems.Add("Each dropout rate must be in [0, 1).");
            if (!(LearningRate > 0 && LearningRate <= 1)) problems.Add($"LearningRate must be more than 0 and at most 1, not {LearningRate}.");
            if (!(LearningRateDecay > 0 && LearningRateDecay <= 1)) problems.Add($"LearningRateDecay must be in (0, 1], not {LearningRateDecay}.");
            if (TokenCount < 0) problems.Add($"TokenCount must be 0 (frames) or positive, not {TokenCount}.");
            if (TokenCount > 0 && EmbeddingSize < 1) problems.Add($"EmbeddingSize must be positive, not {EmbeddingSize}.");
            if (!(TokenNoise >= 0 && TokenNoise < 1)) problems.Add($"TokenNoise must be in [0, 1), not {TokenNoise}.");
            if (!(RelabelShare >= 0 && RelabelShare < 1)) problems.Add($"RelabelShare must be in [0, 1), not {RelabelShare}.");
            if (SequenceLength < 1) problems.Add($"SequenceLength must be at least 1, not {SequenceLength}.");
            if (GradientClipNorm < 0) problems.Add($"GradientClipNorm must be 0 (off) or positive, not {GradientClipNorm}.");
            if (Device is not ("cpu" or "cuda")) problems.Add($"Device must be cpu or cuda, not {Device}.");
            else if (Device == "cuda" && !cuda.is_available())
                problems.Add("CUDA was asked for but is not available: no CUDA device was found, or this build carries the CPU-only TorchSharp (TorchSharp-cpu). Train on the CPU (the default) or install a CUDA build of TorchSharp.");
            if (Threads < 0) problems.Add($"Threads must be 0 (automatic) or positive, not {Threads}.");
            if (!(ValidationFraction >= 0 && ValidationFraction < 1)) problems.Add($"ValidationFraction must be in [0, 1), not {ValidationFraction}.");
            if (EarlyStoppingPatience < 0) problems.Add($"EarlyStoppingPatience must be 0 (off) or positive, not {EarlyStoppingPatience}.");
            if (EarlyStoppingPatience > 0 && ValidationFraction == 0) problems.Add("EarlyStoppingPatience needs a ValidationFraction above 0.");
            if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        }

        internal LstmForecastingTransformer.ColumnNames Names() =>
            new(FileColumnName, FeaturesColumnName, StreamColumnName, ResetStateColumnName, OutputColumnName);
    }

    /// <summary>Trains the network on <paramref name="input"/> and returns a transformer holding it.</summary>
    /// <exception cref="InvalidOperationException">There are no training frames, or the loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled through the options' token.</exception>
    public LstmForecastingTransformer Fit(IDataView input) => Fit(input, null, null);

    /// <summary>
    /// Trains with a hold-out decided by the caller (the whole pipeline's, so that every stage validates on the same
    /// files; null chooses from the files this stage sees), calling <paramref name="epochEnd"/> with the network after
    /// every epoch.
    /// </summary>
    internal LstmForecastingTransformer Fit(IDataView input, HoldOut? holdOut, Action<LstmForecastingTransformer, int>? epochEnd)
    {
        var schemaShape = SchemaShape.Create(input.Schema);
        GetOutputSchema(schemaShape);
        var featuresColumn = SchemaCheck.RequireFloatVector(input.Schema, options.FeaturesColumnName, knownSize: true);
        int dim = SchemaCheck.VectorSize(featuresColumn);
        int targetDim = SchemaCheck.VectorSize(SchemaCheck.RequireFloatVector(input.Schema, options.TargetColumnName, knownSize: true));
        if (targetDim != dim) throw new ArgumentOutOfRangeException(nameof(input), $"Column '{options.TargetColumnName}' has {targetDim} values; '{options.FeaturesColumnName}' has {dim}.");
        bool batched = input.Schema.GetColumnOrNull(options.StreamColumnName) is not null
            && input.Schema.GetColumnOrNull(options.ResetStateColumnName) is not null;
        // A token column says how many tokens there are (and their statistics) in its annotations; TokenCount overrides.
        var tokens = TokenAnnotations.Read(featuresColumn);
        int tokenCount = options.TokenCount > 0 ? options.TokenCount : tokens?.TokenCount ?? 0;
        if (tokenCount > 0 && dim != 1)
            throw new ArgumentOutOfRangeException(nameof(input), $"A token model reads one token per row; column '{options.FeaturesColumnName}' has {dim} values.");
        if (tokens is not null && tokens.TokenCount != tokenCount) tokens = null;
        float[]? descriptors = tokenCount > 0 && options.DescribeTokens ? tokens?.Descriptors
            ?? throw new ArgumentException($"DescribeTokens needs token descriptors: column '{options.FeaturesColumnName}' is not the output of Tokenize.") : null;

        if (options.Threads > 0) set_num_threads(options.Threads);
        manual_seed(options.Seed);
        var network = new FrameLstm(dim, options.HiddenSizes, options.Dropouts, tokenCount, options.EmbeddingSize, descriptors,
            successorCache: tokenCount > 0 && options.SuccessorCache, periodicCopy: tokenCount > 0 && options.PeriodicCopy,
            beatDescriptors: tokenCount > 0 && options.BeatClock && tokens?.Descriptors is { Length: > 0 } beatDescriptors ? beatDescriptors : null,
            textureInput: tokenCount > 0 && options.BeatClock && options.TextureInput && tokens?.Descriptors is { Length: > 0 },
            onsetTerm: tokenCount > 0 && options.BeatClock && options.OnsetTerm && tokens?.Descriptors is { Length: > 0 });
        try
        {
            var segments = new SegmentCache(() => SequenceSegments.Read(input, options.FileColumnName, options.FeaturesColumnName,
                options.TargetColumnName, batched ? options.StreamColumnName : null, batched ? options.ResetStateColumnName : null));
            // Preloading (when validating) also keeps the segments in memory for every epoch.
            var files = options.ValidationFraction > 0 ? segments.Preload() : null;
            if (holdOut is null)
            {
                var (ordering, batchSize) = batched ? Layout(input) : (BatchOrdering.Seed2017, 1);
                holdOut = HoldOut.Choose(files, options.ValidationFraction, ordering, batchSize);
            }
            var names = options.Names();
            var hooks = new[] { options.EpochEnd, epochEnd }.OfType<Action<LstmForecastingTransformer, int>>().ToList();
            new LstmTrainer(options, segments, holdOut, tokens, hooks.Count == 0 ? null : (n, epoch) =>
            {
                var current = new LstmForecastingTransformer(names, n); // not disposed: it holds the network being trained
                foreach (var hook in hooks) hook(current, epoch);
            }).Train(network);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return new LstmForecastingTransformer(options.Names(), network);
    }

    /// <summary>
    /// How stateful batching laid the input out, read from its first batch: contiguous streams when stream 1 starts
    /// more than one frame after stream 0 (by the batcher's FrameIndex column; without it, the 2017 ordering).
    /// </summary>
    private (BatchOrdering Ordering, int BatchSize) Layout(IDataView input)
    {
        var frameColumn = input.Schema.GetColumnOrNull(FftVectorizingEstimator.Defaults.FrameIndexColumn);
        if (frameColumn is not { } column || column.Type.RawType != typeof(int)) return (BatchOrdering.Seed2017, 1);
        var streamColumn = input.Schema[options.StreamColumnName];
        using var cursor = input.GetRowCursor([column, streamColumn]);
        var getFrame = cursor.GetGetter<int>(column);
        var getStream = cursor.GetGetter<int>(streamColumn);
        int frame = 0, stream = 0, first = 0, streams = 0;
        while (cursor.MoveNext())
        {
            getStream(ref stream);
            getFrame(ref frame);
            if (stream == 0 && streams > 0) break;
            if (stream == 0) first = frame;
            else if (stream == 1 && frame - first <= 1) return (BatchOrdering.Seed2017, 1);
            streams = stream + 1;
        }
        return streams >= 2 ? (BatchOrdering.ContiguousStreams, streams) : (BatchOrdering.Seed2017, 1);
    }

    /// <summary>Where the best epoch's checkpoint is kept: <c>NAME.best.EXT</c> beside <paramref name="checkpoint"/>.</summary>
    public static string BestCheckpointPath(string checkpoint) => Checkpoint.BestPath(checkpoint);

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireText(inputSchema, options.FileColumnName);
        SchemaShapes.RequireFloatVector(inputSchema, options.FeaturesColumnName);
        SchemaShapes.RequireFloatVector(inputSchema, options.TargetColumnName);
        return SchemaShapes.Append(inputSchema, SchemaShapes.Vector(options.OutputColumnName, knownSize: true));
    }
}
