using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Estimators;
using MusicGen.Transforms;
using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Tokens;

namespace MusicGen;

/// <summary>
/// Settings of the two whole pipelines: <see cref="TokenModel"/> gives the defaults of
/// <see cref="Presets.TokenModel"/> (the default model), <see cref="Seed2017Model"/> those of
/// <see cref="Presets.Seed2017Model"/> (the 2017 system); change what you need before building the pipeline.
/// </summary>
public sealed record PipelineSettings
{
    private PipelineSettings()
    {
    }

    /// <summary>The settings of the 2017 system (<see cref="Presets.Seed2017Model"/>).</summary>
    public static PipelineSettings Seed2017Model() => new();

    /// <summary>The defaults of <see cref="Presets.TokenModel"/>, the default model.</summary>
    public static PipelineSettings TokenModel() => new()
    {
        Epochs = 40,
        Ordering = BatchOrdering.ContiguousStreams,
        BatchSize = 16,
        SequenceLength = 64,
        Layers = 2,
        HiddenSize = 384,
        Dropout = 0.3f,
        FrameSize = 2048,
        Hop = 512,
        Representation = Representation.LogMagnitude,
        Window = WindowKind.Hann,
        MelBands = TokenizingEstimator.Defaults.MelBands,
        SampleRate = 22050,
        Channels = 1,
        ValidationFraction = 0.1,
        EarlyStoppingPatience = 6,
        GradientClipNorm = 1,
    };

    /// <summary>Tokens in the codebook of <see cref="Presets.TokenModel"/>. Default 512.</summary>
    public int TokenCount { get; set; } = TokenizingEstimator.Defaults.TokenCount;
    /// <summary>
    /// Mel bands of the envelope channel of <see cref="Presets.TokenModel"/>'s codec (<see cref="EnvelopeLstm"/>); 0: none,
    /// the exemplars play as they are. Default 896.
    /// </summary>
    public int EnvelopeBands { get; set; } = TokenizingEstimator.Defaults.EnvelopeBands;
    /// <summary>
    /// Real training frames each token of <see cref="Presets.TokenModel"/>'s codebook keeps, for generation to choose the
    /// one that continues the notes (<see cref="TokenizingEstimator.Options.Members"/>); 1: the medoid alone. Default 1,
    /// an option left off (docs/evaluation.md).
    /// </summary>
    public int Members { get; set; } = TokenizingEstimator.Defaults.Members;
    /// <summary>Updates of the envelope LSTM's fit (<see cref="Estimators.Tokens.EnvelopeFitting"/>). Default 600.</summary>
    public int EnvelopeSteps { get; set; } = Estimators.Tokens.EnvelopeFitting.Defaults.Steps;
    /// <summary>
    /// Random seed of the envelope LSTM's fit alone (the codebook and the network keep <see cref="Seed"/>); null
    /// (default): <see cref="Seed"/>. One fit's takes can differ from another's by more than a setting moves them
    /// (docs/evaluation.md).
    /// </summary>
    public int? EnvelopeSeed { get; set; }
    /// <summary>Token embedding size of <see cref="Presets.TokenModel"/>. Default 128.</summary>
    public int EmbeddingSize { get; set; } = 128;
    /// <summary>Share of input tokens replaced at random while training <see cref="Presets.TokenModel"/>. Default 0.1.</summary>
    public float TokenNoise { get; set; } = 0.1f;
    /// <summary>
    /// Share of <see cref="Presets.TokenModel"/>'s training streams whose tokens are renamed at random each segment
    /// (<see cref="LstmForecastingEstimator.Options.RelabelShare"/>). Default 0.
    /// </summary>
    public float RelabelShare { get; set; }
    /// <summary>
    /// <see cref="Presets.TokenModel"/>: embed and score tokens through their codebook centroids instead of free vectors
    /// (<see cref="LstmForecastingEstimator.Options.DescribeTokens"/>). Default false: measured on held-out music it
    /// predicted better but generated drones (docs/evaluation.md).
    /// </summary>
    public bool DescribeTokens { get; set; }
    /// <summary>
    /// <see cref="Presets.TokenModel"/>: the network also reads the song's texture, held at the seed's while generating
    /// (<see cref="LstmForecastingEstimator.Options.TextureInput"/>). Default false.
    /// </summary>
    public bool TextureInput { get; set; }
    /// <summary>
    /// <see cref="Presets.TokenModel"/>: the network adds a learned multiple of its beat clock's onset guide to every
    /// token's logit (<see cref="LstmForecastingEstimator.Options.OnsetTerm"/>). Default false.
    /// </summary>
    public bool OnsetTerm { get; set; }
    /// <summary>Dropout after every LSTM layer; null (default): 0.5, 0.3, 0.2 as in 2017 (0.2 beyond three layers).</summary>
    public float? Dropout { get; set; }
    /// <summary>Adam's learning rate. Default 0.001.</summary>
    public float LearningRate { get; set; } = LstmForecastingEstimator.Defaults.LearningRate;
    /// <summary>Clip the gradient norm to this; 0 (default) does not clip.</summary>
    public float GradientClipNorm { get; set; }
    /// <summary>Training epochs. Default 10.</summary>
    public int Epochs { get; set; } = LstmForecastingEstimator.Defaults.Epochs;
    /// <summary>Batch ordering. Default <see cref="BatchOrdering.Seed2017"/>.</summary>
    public BatchOrdering Ordering { get; set; } = StatefulBatchingEstimator.Defaults.Ordering;
    /// <summary>Streams per batch. Default 32.</summary>
    public int BatchSize { get; set; } = StatefulBatchingEstimator.Defaults.BatchSize;
    /// <summary>Batches per optimizer step. Default 1.</summary>
    public int SequenceLength { get; set; } = LstmForecastingEstimator.Defaults.SequenceLength;
    /// <summary>LSTM layers. Default 3.</summary>
    public int Layers { get; set; } = LstmForecastingEstimator.Defaults.Layers;
    /// <summary>Units per LSTM layer. Default 256.</summary>
    public int HiddenSize { get; set; } = LstmForecastingEstimator.Defaults.HiddenSize;
    /// <summary>Samples per frame. Default 256.</summary>
    public int FrameSize { get; set; } = FftVectorizingEstimator.Defaults.FrameSize;
    /// <summary>What each frame holds. Default <see cref="Representation.Seed2017"/>.</summary>
    public Representation Representation { get; set; } = FftVectorizingEstimator.Defaults.Representation;
    /// <summary>Samples between frames; 0 (default): N for Seed2017, N/4 otherwise.</summary>
    public int Hop { get; set; }
    /// <summary>Analysis window; null (default): rectangular for Seed2017, Hann otherwise.</summary>
    public WindowKind? Window { get; set; }
    /// <summary>Mel bands for LogMel, or describing frames for the token codebook. Default 80.</summary>
    public int MelBands { get; set; } = FftVectorizingEstimator.Defaults.MelBands;
    /// <summary>Standardise features before the LSTM; null (default): off for Seed2017 (as in 2017), on otherwise.</summary>
    public bool? Normalize { get; set; }
    /// <summary>Model sample rate; 0 (default) takes the first file's.</summary>
    public int SampleRate { get; set; }
    /// <summary>Model channels (1 or 2); 0 (default) takes the first file's, at most 2.</summary>
    public int Channels { get; set; }
    /// <summary>Random seed. Default 1.</summary>
    public int Seed { get; set; } = LstmForecastingEstimator.Defaults.Seed;
    /// <summary>
    /// Share of the audio held out for validation (see <see cref="Estimators.Training.HoldOut"/>: whole files when there are
    /// 3 or more, else the end of each file); 0 (the 2017 default) turns validation off.
    /// </summary>
    public double ValidationFraction { get; set; }
    /// <summary>Checkpoint written at the end of every epoch; null (default) writes none.</summary>
    public string? CheckpointPath { get; set; }
    /// <summary>Multiply the learning rate by this after every epoch. Default 1 (constant).</summary>
    public float LearningRateDecay { get; set; } = 1f;
    /// <summary>Stop after this many epochs without a better validation loss; 0 (default) never stops early.</summary>
    public int EarlyStoppingPatience { get; set; }
    /// <summary>Also checkpoint at the end of a file this long after the last checkpoint (zero: at epoch ends only). Default 10 minutes.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>Where to train: "cpu" (default) or "cuda" (see <see cref="LstmForecastingEstimator.Options.Device"/>).</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>Continue from <see cref="CheckpointPath"/> when it exists.</summary>
    public bool Resume { get; set; }
    /// <summary>What identifies the training data, written into checkpoints so that resuming with other data is refused (see <see cref="TrainingFiles.Fingerprint"/>).</summary>
    public string? DataFingerprint { get; set; }
    /// <summary>
    /// Called after every epoch with the whole pipeline as it stands (usable with <see cref="MusicGenerator"/>, not to
    /// be disposed) and the epoch number: for previews.
    /// </summary>
    public Action<ITransformer, int>? EpochEnd { get; set; }
    /// <summary>Training progress callback.</summary>
    public Action<TrainingProgress>? Progress { get; set; }
    /// <summary>Called once per fit with the audio chosen for validation (see <see cref="Estimators.Training.HoldOut"/>).</summary>
    public Action<Estimators.Training.HoldOut>? HoldOutChosen { get; set; }
    /// <summary>Leave out files that cannot be decoded (each reported through <see cref="Warning"/>) instead of stopping. Default false.</summary>
    public bool SkipUnreadable { get; set; }
    /// <summary>
    /// Longest piece of a file decoded at once, in seconds (0: whole files); memory follows it, not the longest file
    /// (<see cref="AudioLoadingEstimator.Options.SegmentSeconds"/>). Default 600.
    /// </summary>
    public double SegmentSeconds { get; set; } = Transforms.AudioLoadingTransformer.DefaultSegmentSeconds;
    /// <summary>Called with one line per file skipped, or decoded with a warning.</summary>
    public Action<LoadWarning>? Warning { get; set; }
    /// <summary>Cancels training.</summary>
    public CancellationToken CancellationToken { get; set; }
}

/// <summary>Whole pipelines, ready to fit on a view of file paths (<see cref="MusicGenCatalog.LoadAudioFiles"/>).</summary>
public static class Presets
{
    /// <summary>
    /// The 2017 system, faithfully: 256-sample rectangular frames, full complex FFT scaled by 1/(N/2), 32 consecutive
    /// frames per batch, 3 x 256 LSTM with dropout 0.5/0.3/0.2, MSE, Adam, one step per batch. Settings (from
    /// <see cref="PipelineSettings.Seed2017Model"/>) may change its sizes, features and ordering.
    /// </summary>
    public static MusicPipelineEstimator Seed2017Model(this TransformsCatalog catalog, PipelineSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var s = Logged(catalog, settings ?? PipelineSettings.Seed2017Model());
        var normalize = s.Normalize ?? s.Representation != Representation.Seed2017;
        return new MusicPipelineEstimator(Loader(catalog, s, s.Channels), Vectorizer(catalog, s, s.Representation, s.Window),
            normalize ? catalog.NormalizeFeatures() : null, null, catalog.BatchStatefully(s.Ordering, s.BatchSize),
            catalog.PredictNextFrame(Training(s)), s.ValidationFraction, s.EpochEnd, s.HoldOutChosen);
    }

    /// <summary>
    /// The default model: a token model that predicts a distribution and samples from it. Mono 22050 Hz, log-magnitude
    /// STFT (2048-sample Hann window, hop 512), a 512-token codebook learned by k-means over 64 standardised log-mel bands
    /// (each token decodes to a real training frame, reshaped to an envelope on 896 mel bands that a small LSTM continues from
    /// the seed's: <see cref="EnvelopeLstm"/>), 16 contiguous streams with truncated backpropagation through
    /// time over 64 steps, an embedding of 128 and 2 LSTM layers of 384 units (dropout 0.3) with recent-token caches, a
    /// successor cache and a beat clock (<see cref="Transforms.Network.FrameLstm"/>; no periodic copy), softmax and
    /// cross-entropy, 10% of input tokens replaced at random while training, early stopping on whole held-out files (left
    /// out of the codebook too), a backoff to "repeat or unigram" weighted on those files, and Griffin-Lim phase (16
    /// iterations from a phase-locked start) at generation. Settings start from <see cref="PipelineSettings.TokenModel"/>.
    /// </summary>
    public static MusicPipelineEstimator TokenModel(this TransformsCatalog catalog, PipelineSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var s = Logged(catalog, settings ?? PipelineSettings.TokenModel());
        if (s.SampleRate <= 0) throw new ArgumentException("The token model needs a sample rate (its codebook's mel bands depend on it).");
        if (s.Channels != 1) throw new ArgumentException("The token model is mono: set Channels to 1.");
        var tokenizer = catalog.Tokenize(new TokenizingEstimator.Options
        {
            TokenCount = s.TokenCount,
            MelBands = s.MelBands,
            EnvelopeBands = s.EnvelopeBands,
            EnvelopeSteps = s.EnvelopeSteps,
            EnvelopeSeed = s.EnvelopeSeed,
            Members = s.Members,
            SampleRate = s.SampleRate,
            Seed = s.Seed,
            ValidationFraction = s.ValidationFraction,
        });
        var training = Training(s);
        training.DescribeTokens = s.DescribeTokens;
        training.EmbeddingSize = s.EmbeddingSize;
        training.TokenNoise = s.TokenNoise;
        training.RelabelShare = s.RelabelShare;
        training.TextureInput = s.TextureInput;
        training.OnsetTerm = s.OnsetTerm;
        training.FeaturesColumnName = TokenizingEstimator.Defaults.TokenColumn;
        // 16 Griffin-Lim iterations from the phase-locked start. Once the envelope channel made the codec nearly
        // transparent, phase became its limit: codec transparency on hyperrogue-music's other composer's reference 0.47,
        // 0.32, 0.30, 0.24 for 6, 12, 16 and 24 iterations, the takes' measures unchanged; a 20 s take 24.9-31.6x
        // real time at 6, 22.1-30.1x at 16, 16.5-23.2x at 24 (docs/evaluation.md, "Phase iterations for the codec").
        return new MusicPipelineEstimator(Loader(catalog, s, 1), Vectorizer(catalog, s, Representation.LogMagnitude, s.Window ?? WindowKind.Hann, phaseIterations: 16),
            null, tokenizer, catalog.BatchStatefully(new StatefulBatchingEstimator.Options
            {
                Ordering = s.Ordering,
                BatchSize = s.BatchSize,
                FeaturesColumnName = TokenizingEstimator.Defaults.TokenColumn,
            }), catalog.PredictNextFrame(training), s.ValidationFraction, s.EpochEnd, s.HoldOutChosen);
    }

    /// <summary>A copy of <paramref name="s"/> whose callbacks also send their news to the context's log (<see cref="ContextLog"/>).</summary>
    private static PipelineSettings Logged(TransformsCatalog catalog, PipelineSettings s)
    {
        if (ContextLog.Of(catalog) is not { } log) return s;
        var progress = s.Progress;
        var warning = s.Warning;
        var holdOutChosen = s.HoldOutChosen;
        return s with
        {
            Progress = p =>
            {
                progress?.Invoke(p);
                if (!p.EpochDone) return;
                string line = FormattableString.Invariant($"epoch {p.Epoch}/{p.Epochs}: {p.Frames} frames, {p.FramesPerSecond:F0} frames/s, loss {p.Loss:G5}");
                if (p.Validation is { } v)
                    line += FormattableString.Invariant($", validation {v.Loss:G5} ({v.RepeatPreviousName} {v.RepeatPrevious:G5}, {v.AverageName} {v.Average:G5})");
                log.Info(line);
            },
            Warning = w =>
            {
                warning?.Invoke(w);
                log.Warning(w.Message);
            },
            HoldOutChosen = h =>
            {
                holdOutChosen?.Invoke(h);
                log.Info(h.WholeFiles ? $"validating on {h.Files.Count} held-out file(s): {string.Join(", ", h.Files.Select(Path.GetFileName))}"
                    : h.EndStreams ? $"validating on the last {h.EndStreamsHeld} of the {h.BatchSize} streams of each file"
                    : FormattableString.Invariant($"validating on the last {h.Fraction:P0} of each file's batches"));
            },
        };
    }

    private static AudioLoadingEstimator Loader(TransformsCatalog catalog, PipelineSettings s, int channels) =>
        catalog.LoadAudio(new AudioLoadingEstimator.Options
        {
            SampleRate = s.SampleRate,
            Channels = channels,
            SkipUnreadable = s.SkipUnreadable,
            SegmentSeconds = s.SegmentSeconds,
            Warning = s.Warning,
        });

    private static FftVectorizingEstimator Vectorizer(TransformsCatalog catalog, PipelineSettings s, Representation representation, WindowKind? window,
        int phaseIterations = FftVectorizingEstimator.Defaults.GriffinLimIterations) =>
        catalog.VectorizeFft(new FftVectorizingEstimator.Options
        {
            FrameSize = s.FrameSize,
            Representation = representation,
            Hop = s.Hop,
            Window = window,
            MelBands = s.MelBands,
            GriffinLimIterations = phaseIterations,
        });

    private static LstmForecastingEstimator.Options Training(PipelineSettings s) => new()
    {
        Epochs = s.Epochs,
        HiddenSizes = Enumerable.Repeat(s.HiddenSize, s.Layers).ToArray(),
        Dropouts = Enumerable.Range(0, s.Layers).Select(i => s.Dropout ?? (i < 3 ? LstmForecastingEstimator.Defaults.Dropouts[i] : 0.2f)).ToArray(),
        LearningRate = s.LearningRate,
        GradientClipNorm = s.GradientClipNorm,
        SequenceLength = s.SequenceLength,
        ValidationFraction = s.ValidationFraction,
        CheckpointPath = s.CheckpointPath,
        CheckpointInterval = s.CheckpointInterval,
        Device = s.Device,
        Resume = s.Resume,
        DataFingerprint = s.DataFingerprint,
        EarlyStoppingPatience = s.EarlyStoppingPatience,
        LearningRateDecay = s.LearningRateDecay,
        Seed = s.Seed,
        Progress = s.Progress,
        CancellationToken = s.CancellationToken,
    };
}
