using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MusicGen.Transforms.Data;
using MusicGen.Transforms.Tokens;

namespace MusicGen.Transforms;

/// <summary>
/// Turns each log-magnitude frame into a token of a learned <see cref="Tokens.Codebook"/> (the nearest of K k-means
/// centroids over standardised log-mel energies), so that a network can predict a distribution over the next token
/// and generation can sample from it instead of regressing to the mean frame. Adds one column holding the token
/// number as a one-value vector of Single (exact below 2^24), annotated with the codebook's <see cref="TokenAnnotations"/>
/// (token count, training frequencies, repeat rate, descriptors) for the stages after it. Produced by fitting <c>mlContext.Transforms.Tokenize</c>.
/// </summary>
public sealed class TokenizingTransformer : MusicGenTransformerBase
{
    internal const string LoaderSignature = "MusicGenTokenizing";

    internal TokenizingTransformer(string inputColumnName, string outputColumnName, Codebook codebook, EnvelopeLstm? envelope = null)
    {
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        Codebook = codebook;
        Envelope = envelope;
    }

    /// <summary>The log-magnitude features column read.</summary>
    public string InputColumnName { get; }

    /// <summary>The token column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>The learned codebook of tokens.</summary>
    public Codebook Codebook { get; }

    /// <summary>The codec's envelope channel, or null when the exemplars play as they are (models of format 1).</summary>
    public EnvelopeLstm? Envelope { get; }

    /// <summary>
    /// Real log-magnitude frames ([frames, bins] row-major) through the codec and back: their tokens' exemplars, each
    /// under its frame's own envelope when there is an envelope channel (not capped: it is analysed, not predicted).
    /// </summary>
    public float[] Reconstruct(ReadOnlySpan<float> frames)
    {
        var tokens = Codebook.Encode(frames);
        return Envelope is null ? Codebook.Decode(tokens) : Envelope.Render(tokens, Envelope.Residuals(frames, tokens), capped: false);
    }

    /// <inheritdoc/>
    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        Check(inputSchema);
        return Map(new EmptyView(inputSchema)).Schema;
    }

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        Check(input.Schema);
        return Map(input);
    }

    private MappedColumnDataView Map(IDataView input) =>
        new(input, InputColumnName, OutputColumnName, (source, target) => target[0] = Codebook.EncodeFrame(source), outputSize: 1,
            annotations: TokenAnnotations.Of(Codebook).ToAnnotations());

    private void Check(DataViewSchema schema)
    {
        var column = SchemaCheck.RequireFloatVector(schema, InputColumnName, knownSize: true);
        if (SchemaCheck.VectorSize(column) != Codebook.Bins)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"Column '{InputColumnName}' has {SchemaCheck.VectorSize(column)} values; the codebook was learned on log-magnitude frames of {Codebook.Bins} (mono LogMagnitude features of the same frame size).");
    }

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    private static VersionInfo GetVersionInfo() => MakeVersion("MGTOKENS", LoaderSignature, typeof(TokenizingTransformer), format: 4);

    private protected override void SaveModel(BinaryWriter writer, ModelSaveContext ctx)
    {
        writer.Write(InputColumnName);
        writer.Write(OutputColumnName);
        Codebook.Save(writer);
        writer.Write(Envelope is not null);
        Envelope?.Save(writer);
    }

    private static TokenizingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        int format = CheckFormat(ctx, GetVersionInfo(), "tokenizing");
        var r = ctx.Reader;
        string input = r.ReadString(), output = r.ReadString();
        // format 2 added the envelope channel, format 3 its band layout, format 4 the tokens' members
        var codebook = Codebook.Load(r, membersSaved: format >= 4);
        var envelope = format >= 2 && r.ReadBoolean() ? EnvelopeLstm.Load(r, codebook, layoutSaved: format >= 3) : null;
        return new TokenizingTransformer(input, output, codebook, envelope);
    }
}
