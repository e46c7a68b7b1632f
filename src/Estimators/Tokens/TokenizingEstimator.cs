using Microsoft.ML;
using MusicGen.Transforms;
using MusicGen.Transforms.Data;
using MusicGen.Transforms.Batching;
using MusicGen.Estimators.Training;
using MusicGen.Estimators.Tokens;
using MusicGen.Transforms.Tokens;

namespace MusicGen.Estimators;

/// <summary>
/// Learns a codebook of log-magnitude frames (k-means over standardised log-mel energies, see <see cref="Codebook"/>)
/// and tokenizes every frame with it. Input: File and mono LogMagnitude features. Output: the input's columns plus
/// the token (default "Token", a one-value vector of Single). Trains (clustering).
/// Created by <see cref="MusicGenCatalog.Tokenize(TransformsCatalog, TokenizingEstimator.Options)"/>.
/// </summary>
public sealed class TokenizingEstimator : IEstimator<TokenizingTransformer>
{
    private readonly Options options;

    internal TokenizingEstimator(Options options)
    {
        options.Validate();
        this.options = options;
    }

    /// <summary>Default values of <see cref="Options"/>.</summary>
    public static class Defaults
    {
        /// <summary>Codebook size.</summary>
        public const int TokenCount = 512;
        /// <summary>Mel bands describing a frame for clustering.</summary>
        public const int MelBands = 64;
        /// <summary>Output column.</summary>
        public const string TokenColumn = "Token";
        /// <summary>Mel bands of the envelope channel (0: none).</summary>
        public const int EnvelopeBands = EnvelopeFitting.Defaults.Bands;
        /// <summary>Real training frames kept per token.</summary>
        public const int Members = 1;
    }

    /// <summary>Options of <see cref="TokenizingEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>Codebook size (K). Default 512.</summary>
        public int TokenCount { get; set; } = Defaults.TokenCount;
        /// <summary>Mel bands describing a frame for clustering. Default 64.</summary>
        public int MelBands { get; set; } = Defaults.MelBands;
        /// <summary>Sample rate of the audio the frames come from (places the mel bands). Default 22050.</summary>
        public int SampleRate { get; set; } = 22050;
        /// <summary>
        /// Mel bands of the codec's envelope channel (<see cref="EnvelopeLstm"/>): each exemplar is reshaped to its frame's
        /// envelope on this many bands, continued by a small LSTM when generating. 0: no envelope channel (the exemplars
        /// play as they are). Default 896.
        /// </summary>
        public int EnvelopeBands { get; set; } = Defaults.EnvelopeBands;
        /// <summary>
        /// Whether the envelope's band centres are at least a bin apart (<see cref="Transforms.Spectral.MelFilters.BinFloored"/>);
        /// false: plain mel bands, as models trained before 2026-12-03 have. Default true.
        /// </summary>
        public bool EnvelopeBinFloored { get; set; } = EnvelopeFitting.Defaults.BinFloored;
        /// <summary>Updates of the envelope LSTM's fit (see <see cref="EnvelopeFitting"/>). Default 600.</summary>
        public int EnvelopeSteps { get; set; } = EnvelopeFitting.Defaults.Steps;
        /// <summary>Random seed of the envelope LSTM's fit; null (default): <see cref="Seed"/>.</summary>
        public int? EnvelopeSeed { get; set; }
        /// <summary>
        /// Real training frames each token keeps (<see cref="Codebook.Member"/>): its medoid and others drawn from its
        /// frames, among which generation chooses the one that continues the notes before it (with an envelope
        /// channel); 1: the medoid alone. Each member adds 1 MB to a model of 512 tokens. Default 1: 8 brought the takes
        /// nearer the training composer's music and took another composer's further from its own (docs/evaluation.md).
        /// </summary>
        public int Members { get; set; } = Defaults.Members;
        /// <summary>k-means iterations at most. Default 25.</summary>
        public int Iterations { get; set; } = 25;
        /// <summary>Random seed of the k-means++ seeding. Default 1.</summary>
        public int Seed { get; set; } = 1;
        /// <summary>
        /// The training's validation share: the whole files it would hold out (see
        /// <see cref="LstmForecastingEstimator.Options.ValidationFraction"/>) are left out of the codebook too, so that
        /// they are music it never learned from. Default 0 (learn from every file).
        /// </summary>
        public double ValidationFraction { get; set; }
        /// <summary>Input file column. Default "File".</summary>
        public string FileColumnName { get; set; } = FftVectorizingEstimator.Defaults.FileColumn;
        /// <summary>Input log-magnitude column. Default "Features".</summary>
        public string InputColumnName { get; set; } = FftVectorizingEstimator.Defaults.FeaturesColumn;
        /// <summary>Output token column. Default "Token".</summary>
        public string OutputColumnName { get; set; } = Defaults.TokenColumn;

        internal void Validate()
        {
            var problems = new List<string>();
            if (TokenCount < 2) problems.Add($"TokenCount must be at least 2, not {TokenCount}.");
            if (MelBands < 1) problems.Add($"MelBands must be at least 1, not {MelBands}.");
            if (SampleRate < 1) problems.Add($"SampleRate must be positive, not {SampleRate}.");
            if (Iterations < 1) problems.Add($"Iterations must be at least 1, not {Iterations}.");
            if (EnvelopeBands < 0) problems.Add($"EnvelopeBands must be 0 (none) or more, not {EnvelopeBands}.");
            if (Members < 1 || Members > 256) problems.Add($"Members must be 1 to 256, not {Members}.");
            if (EnvelopeSteps < 0) problems.Add($"EnvelopeSteps must be 0 or more, not {EnvelopeSteps}.");
            if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        }
    }


    /// <summary>
    /// Clusters every file's frames (but those of the files validation holds out), fits the envelope channel on the
    /// same frames, and returns the tokenizer.
    /// </summary>
    /// <exception cref="InvalidOperationException">There are fewer frames than tokens.</exception>
    public TokenizingTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>
    /// Fits with a hold-out decided by the caller (the whole pipeline's, so that the codebook leaves out exactly the
    /// audio the trainer validates on; null chooses from the files this stage sees).
    /// </summary>
    internal TokenizingTransformer Fit(IDataView input, HoldOut? holdOut)
    {
        GetOutputSchema(SchemaShape.Create(input.Schema));
        var features = SchemaCheck.RequireFloatVector(input.Schema, options.InputColumnName, knownSize: true);
        if (features.Annotations.Schema.GetColumnOrNull(FftVectorizingTransformer.RepresentationKind) is not null)
        {
            ReadOnlyMemory<char> representation = default;
            features.Annotations.GetValue(FftVectorizingTransformer.RepresentationKind, ref representation);
            if (!representation.Span.SequenceEqual(nameof(Transforms.Spectral.Representation.LogMagnitude)))
                throw new ArgumentException($"Tokenize: column '{options.InputColumnName}' holds {representation} features; the codebook learns LogMagnitude frames. " +
                    "Vectorize with new FftVectorizingEstimator.Options { Representation = Representation.LogMagnitude } (mono), or use ml.Transforms.TokenModel(...).");
        }
        int bins = SchemaCheck.VectorSize(features);
        // At most 16384 frames (about 6 minutes, 67 MB) at a time, three times (a sample, the tallies, the envelope's
        // residuals, of which at most EnvelopeFitting.Defaults.MaxFrames are kept): memory follows neither the collection
        // nor the longest file. A pair of frames across two pieces goes uncounted in the repeat rate.
        var files = FileFrames.Counts(input, options.FileColumnName);
        holdOut ??= HoldOut.Choose(files.Select(f => f.File).ToList(), options.ValidationFraction);
        IEnumerable<float[]> Pieces() => LearnedPieces(input, files, holdOut, bins);
        var codebook = CodebookFitting.Fit(Pieces, bins, options.SampleRate, options.TokenCount, options.MelBands, options.Seed, options.Iterations,
            members: options.Members);
        var envelope = options.EnvelopeBands == 0 ? null
            : EnvelopeFitting.Fit(codebook, Pieces(), (bins - 1) * 2, options.SampleRate, options.EnvelopeBands, options.EnvelopeSteps, options.EnvelopeSeed ?? options.Seed,
                binFloored: options.EnvelopeBinFloored);
        return new TokenizingTransformer(options.InputColumnName, options.OutputColumnName, codebook, envelope);
    }

    /// <summary>
    /// The frames the codebook learns, in pieces of at most 16384 frames: each file's frames before the first one
    /// validation reads (<see cref="HoldOut.FirstHeldFrame"/>), so that no held-out frame is in the codebook.
    /// </summary>
    private IEnumerable<float[]> LearnedPieces(IDataView input, List<(string File, int Rows)> files, HoldOut holdOut, int bins)
    {
        int index = -1, offset = 0, end = 0;
        foreach (var (file, frames) in FileFrames.Read(input, options.FileColumnName, options.InputColumnName, maxFrames: 16384))
        {
            if (index < 0 || file != files[index].File || offset >= files[index].Rows)
            {
                index++;
                offset = 0;
                end = holdOut.FirstHeldFrame(file, files[index].Rows);
            }
            int count = frames.Length / bins, kept = Math.Clamp(end - offset, 0, count);
            offset += count;
            if (kept == count) yield return frames;
            else if (kept > 0) yield return frames.AsSpan(0, kept * bins).ToArray();
        }
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireText(inputSchema, options.FileColumnName);
        SchemaShapes.RequireFloatVector(inputSchema, options.InputColumnName);
        return SchemaShapes.Append(inputSchema, SchemaShapes.TokenVector(options.OutputColumnName));
    }
}
