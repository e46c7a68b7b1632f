using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MusicGen.Transforms.Model;

/// <summary>
/// Stacked LSTM that predicts the next feature frame: input [T, B, D] -> LSTM layers (each followed by dropout)
/// -> linear -> output [T, B, D]. The 2017 configuration is 3 layers of 256 units with dropout 0.5, 0.3, 0.2.
/// With a vocabulary it is a token model instead: input [T, B, 1] holds token numbers (as floats), an embedding
/// feeds the LSTM layers, and the output [T, B, V] holds the logits of the next token.
/// </summary>
public sealed class FrameLstm : nn.Module<Tensor, LstmState?, (Tensor Output, LstmState State)>
{
    private readonly ModuleList<LSTM> layers = new();
    private readonly ModuleList<Dropout> dropouts = new();
    private readonly Linear output;
    private readonly Embedding? embedding;

    /// <summary>Creates the network with random initial weights (seed torch first for reproducibility).</summary>
    /// <param name="featureSize">Values per frame (D), both in and out.</param>
    /// <param name="hiddenSizes">Units of each LSTM layer, bottom first.</param>
    /// <param name="dropouts">Dropout after each LSTM layer (same count as <paramref name="hiddenSizes"/>).</param>
    /// <param name="vocabulary">Tokens of a token model (0: a frame model).</param>
    /// <param name="embeddingSize">A token model's embedding size.</param>
    public FrameLstm(int featureSize, IReadOnlyList<int> hiddenSizes, IReadOnlyList<float> dropouts, int vocabulary = 0, int embeddingSize = 0)
        : base(nameof(FrameLstm))
    {
        if (hiddenSizes.Count == 0 || hiddenSizes.Count != dropouts.Count)
            throw new ArgumentException("Give one dropout rate per LSTM layer, and at least one layer.", nameof(dropouts));
        if (vocabulary < 0 || (vocabulary > 0 && (featureSize != 1 || embeddingSize < 1)))
            throw new ArgumentException("A token model reads one token per step and needs a positive embedding size.", nameof(vocabulary));
        FeatureSize = featureSize;
        HiddenSizes = hiddenSizes.ToArray();
        Dropouts = dropouts.ToArray();
        Vocabulary = vocabulary;
        EmbeddingSize = vocabulary > 0 ? embeddingSize : 0;
        int inputs = featureSize;
        if (vocabulary > 0)
        {
            embedding = nn.Embedding(vocabulary, embeddingSize);
            inputs = embeddingSize;
        }
        for (int i = 0; i < HiddenSizes.Length; i++)
        {
            layers.Add(nn.LSTM(inputs, HiddenSizes[i]));
            this.dropouts.Add(nn.Dropout(Dropouts[i]));
            inputs = HiddenSizes[i];
        }
        output = nn.Linear(inputs, OutputSize);
        RegisterComponents();
    }

    /// <summary>Values per frame.</summary>
    public int FeatureSize { get; }

    /// <summary>Tokens of a token model; 0 for a frame model.</summary>
    public int Vocabulary { get; }

    /// <summary>A token model's embedding size; 0 for a frame model.</summary>
    public int EmbeddingSize { get; }

    /// <summary>Values per output step: the vocabulary's logits for a token model, else the feature size.</summary>
    public int OutputSize => Vocabulary > 0 ? Vocabulary : FeatureSize;

    /// <summary>Units of each LSTM layer.</summary>
    public int[] HiddenSizes { get; }

    /// <summary>Dropout after each LSTM layer.</summary>
    public float[] Dropouts { get; }

    /// <summary>Runs a sequence [T, B, D] from <paramref name="state"/> (zeros when null); returns [T, B, D] and the new state.</summary>
    public override (Tensor Output, LstmState State) forward(Tensor input, LstmState? state)
    {
        var x = embedding is null ? input : embedding.call(input.squeeze(-1).to_type(ScalarType.Int64));
        var next = new (Tensor H, Tensor C)[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            (Tensor, Tensor)? initial = state is null ? null : (state.Layers[i].H, state.Layers[i].C);
            var (y, h, c) = layers[i].call(x, initial);
            next[i] = (h, c);
            x = dropouts[i].call(y);
        }
        return (output.call(x), new LstmState(next));
    }
}

/// <summary>Hidden and cell state of every layer of a <see cref="FrameLstm"/>, each [1, B, H].</summary>
public sealed class LstmState : IDisposable
{
    /// <summary>Wraps per-layer (hidden, cell) tensors.</summary>
    public LstmState((Tensor H, Tensor C)[] layers) => Layers = layers;

    /// <summary>Per layer, bottom first: hidden state and cell state.</summary>
    public (Tensor H, Tensor C)[] Layers { get; }

    /// <summary>
    /// A copy cut from the autograd graph and moved out of the current dispose scope, to carry across batches
    /// (truncated backpropagation through time).
    /// </summary>
    public LstmState DetachToOuterScope() =>
        new(Layers.Select(l => (l.H.detach().MoveToOuterDisposeScope(), l.C.detach().MoveToOuterDisposeScope())).ToArray());

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var (h, c) in Layers)
        {
            h.Dispose();
            c.Dispose();
        }
    }
}
