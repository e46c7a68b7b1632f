using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MusicGen.Transforms.Data;
using static TorchSharp.torch;
using MusicGen.Transforms.Batching;
using MusicGen.Transforms.Network;
using MusicGen.Transforms.Torch;

namespace MusicGen.Transforms;

/// <summary>
/// Holds a trained <see cref="FrameLstm"/> and predicts, for every row, the next frame. Rows are run in order with
/// the recurrent state carried: per file when the input is plain frames, per stream when it is the output of stateful
/// batching (state reset where ResetState is set). Adds one column, the prediction: the next frame (feature size), or
/// for a token model the next token's logits (one per token).
/// Produced by fitting <c>mlContext.Transforms.PredictNextFrame</c>; disposing it frees the network.
/// </summary>
public sealed class LstmForecastingTransformer : MusicGenTransformerBase, IDisposable
{
    internal const string LoaderSignature = "MusicGenLstmForecasting";
    private const string WeightsEntry = "Weights.bin";

    internal LstmForecastingTransformer(ColumnNames names, FrameLstm network)
    {
        Names = names;
        Network = network;
        Network.eval();
    }

    /// <summary>Column names.</summary>
    public ColumnNames Names { get; }

    /// <summary>The trained network (in evaluation mode).</summary>
    public FrameLstm Network { get; }

    /// <summary>Values per input frame (1 for a token model).</summary>
    public int FeatureSize => Network.FeatureSize;

    /// <summary>Values per prediction: the feature size, or a token model's token count.</summary>
    public int OutputSize => Network.OutputSize;

    /// <summary>Whether the network predicts tokens (logits, one per token) rather than frames.</summary>
    public bool PredictsTokens => Network.TokenCount > 0;

    /// <inheritdoc/>
    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema);
        return ColumnDef<float[]>.Schema([Output()], inputSchema);
    }

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        CheckInput(input.Schema);
        return new AppendColumnsDataView<float[]>(input, [Output()], () => Predictions(input));
    }

    /// <summary>
    /// Runs <paramref name="frames"/> ([T, B, D] flattened, time-major) from <paramref name="state"/> (null: zeros) and
    /// returns the predictions ([T, B, <see cref="OutputSize"/>]) and the state after the last step (the caller disposes it).
    /// With <paramref name="fitMemory"/>, a token model's streams all read one seed's tokens from zeros, and it is
    /// called on the seed's memory loss before the output is weighed (<see cref="FrameLstm.Prime"/>).
    /// </summary>
    public (float[] Predictions, LstmState State) Run(float[] frames, int streams, LstmState? state, Action<MemoryGainLoss>? fitMemory = null)
    {
        if (fitMemory is not null && state is not null) throw new ArgumentException("A seed's memory is fitted from zeros.", nameof(state));
        int steps = frames.Length / (streams * FeatureSize);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = Tensors.Wrap(frames, steps, streams, FeatureSize);
        var (output, next) = fitMemory is null ? Network.call(input, state) : Network.Prime(input, fitMemory);
        return (Tensors.ToArray(output), next.DetachToOuterScope());
    }

    private ColumnDef<float[]> Output() => ColumnDef<float[]>.Vector(Names.Output, OutputSize, p => p);

    private bool Batched(DataViewSchema schema) =>
        schema.GetColumnOrNull(Names.Stream) is not null && schema.GetColumnOrNull(Names.ResetState) is not null;

    private void CheckInput(DataViewSchema schema)
    {
        SchemaCheck.RequireText(schema, Names.File);
        var features = SchemaCheck.RequireFloatVector(schema, Names.Features, knownSize: true);
        if (SchemaCheck.VectorSize(features) != FeatureSize)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Column '{Names.Features}' has {SchemaCheck.VectorSize(features)} values; the network expects {FeatureSize}.");
    }

    private IEnumerable<float[]> Predictions(IDataView input)
    {
        bool batched = Batched(input.Schema);
        foreach (var segment in SequenceSegments.Read(input, Names.File, Names.Features, null,
                     batched ? Names.Stream : null, batched ? Names.ResetState : null))
        {
            var (predictions, state) = Run(segment.Inputs, segment.Streams, null);
            state.Dispose();
            int rows = segment.Steps * segment.Streams;
            for (int i = 0; i < rows; i++) yield return predictions.AsSpan(i * OutputSize, OutputSize).ToArray();
        }
    }

    /// <summary>Frees the network's tensors.</summary>
    public void Dispose() => Network.Dispose();

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    private static VersionInfo GetVersionInfo() => MakeVersion("MGLSTMFC", LoaderSignature, typeof(LstmForecastingTransformer), format: 5);

    private protected override void SaveModel(BinaryWriter writer, ModelSaveContext ctx)
    {
        Names.Write(writer);
        writer.Write(Network.FeatureSize);
        writer.Write(Network.HiddenSizes.Length);
        for (int i = 0; i < Network.HiddenSizes.Length; i++)
        {
            writer.Write(Network.HiddenSizes[i]);
            writer.Write(Network.Dropouts[i]);
        }
        writer.Write(Network.TokenCount);
        writer.Write(Network.EmbeddingSize);
        writer.Write(Network.DescriptorSize);
        writer.Write(Network.SuccessorCache);
        writer.Write(Network.PeriodicCopy);
        writer.Write(Network.BeatDescriptorSize);
        writer.Write(Network.TextureInput);
        writer.Write(Network.OnsetTerm);
        ctx.SaveBinaryStream(WeightsEntry, w => Network.save(w));
    }

    private static LstmForecastingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        int format = CheckFormat(ctx, GetVersionInfo(), "LSTM");
        var r = ctx.Reader;
        var names = ColumnNames.Read(r);
        int featureSize = r.ReadInt32();
        int layers = r.ReadInt32();
        if (featureSize <= 0 || layers <= 0 || layers > 64)
            throw new InvalidDataException($"The model's network description is damaged ({featureSize} features, {layers} layers).");
        var hidden = new int[layers];
        var dropouts = new float[layers];
        for (int i = 0; i < layers; i++)
        {
            hidden[i] = r.ReadInt32();
            dropouts[i] = r.ReadSingle();
        }
        int tokenCount = r.ReadInt32(), embeddingSize = r.ReadInt32();
        if (tokenCount < 0 || tokenCount > 1 << 20 || embeddingSize < 0 || embeddingSize > 1 << 16)
            throw new InvalidDataException($"The model's network description is damaged ({tokenCount} tokens, embedding {embeddingSize}).");
        int descriptorSize = r.ReadInt32();
        if (descriptorSize < 0 || descriptorSize > 1 << 12)
            throw new InvalidDataException($"The model's network description is damaged ({descriptorSize} descriptor values).");
        bool successorCache = format >= 2 && r.ReadBoolean(); // format 2 added the successor cache and the periodic copy
        bool periodicCopy = format >= 2 && r.ReadBoolean();
        int beatDescriptorSize = format >= 3 ? r.ReadInt32() : 0; // format 3 added the beat clock
        if (beatDescriptorSize < 0 || beatDescriptorSize > 1 << 12)
            throw new InvalidDataException($"The model's network description is damaged ({beatDescriptorSize} beat descriptor values).");
        bool textureInput = format >= 4 && r.ReadBoolean(); // format 4 added the texture input
        bool onsetTerm = format >= 5 && r.ReadBoolean();    // format 5 added the onset term
        if (onsetTerm && beatDescriptorSize == 0) throw new InvalidDataException("The model's network description is damaged (an onset term without a beat clock).");
        // The weights fill the descriptors in.
        var network = new FrameLstm(featureSize, hidden, dropouts, tokenCount, embeddingSize,
            descriptorSize > 0 ? new float[tokenCount * descriptorSize] : null, successorCache, periodicCopy,
            beatDescriptorSize > 0 ? new float[tokenCount * beatDescriptorSize] : null, textureInput, onsetTerm);
        bool found;
        try
        {
            found = ctx.TryLoadBinaryStream(WeightsEntry, w => network.load(w));
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or IOException or System.Runtime.InteropServices.ExternalException)
        {
            network.Dispose();
            throw new InvalidDataException($"the network weights in the model are damaged or do not fit its description ({e.Message})", e);
        }
        if (!found)
        {
            network.Dispose();
            throw new InvalidDataException($"The model has no '{WeightsEntry}' entry with the network's weights.");
        }
        return new LstmForecastingTransformer(names, network);
    }

    /// <summary>Column names of <see cref="LstmForecastingTransformer"/>.</summary>
    /// <param name="File">Input: file path; with plain frames a change of value resets the state.</param>
    /// <param name="Features">Input: the frame's features.</param>
    /// <param name="Stream">Input, optional: stream within a batch (stateful batching output).</param>
    /// <param name="ResetState">Input, optional: true where the streams start afresh.</param>
    /// <param name="Output">Output: the predicted next frame.</param>
    public sealed record ColumnNames(string File, string Features, string Stream, string ResetState, string Output)
    {
        internal void Write(BinaryWriter w)
        {
            foreach (var s in new[] { File, Features, Stream, ResetState, Output }) w.Write(s);
        }

        internal static ColumnNames Read(BinaryReader r) =>
            new(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString());
    }
}
