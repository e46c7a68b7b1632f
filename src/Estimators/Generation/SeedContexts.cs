using System.Numerics.Tensors;
using MusicGen.Transforms;
using MusicGen.Transforms.Torch;

namespace MusicGen;

/// <summary>
/// The primed excerpt as a store of (context, next token) pairs, behind <see cref="GenerationOptions.SeedContexts"/>: the
/// context after each excerpt token is the network's own top LSTM output there. At every step of a take the contexts
/// of the excerpt nearest the take's current one (cosine similarity) propose where a change of sound goes: what the
/// excerpt changed to from there, weighted by a softmax of the similarities, as nearest-neighbour language models
/// read a store. Holding or changing stays the network's; only where a change goes is mixed.
/// </summary>
internal sealed class SeedContexts
{
    /// <summary>Nearest contexts that propose a change.</summary>
    public const int Neighbours = 16;

    /// <summary>Sharpness of the softmax over the nearest contexts' cosine similarities.</summary>
    public const float Sharpness = 20;

    private readonly float[] keys;   // [N, H], unit length
    private readonly int[] next;     // [N]: the excerpt token after each context
    private readonly bool[] holds;   // [N]: the excerpt held its token there
    private readonly int size, tokenCount;
    private readonly float weight;
    private readonly float[] proposed, similarity, sorted;
    private readonly int[] order;

    private SeedContexts(float[] keys, int[] prime, int tokenCount, double weight)
    {
        this.keys = keys;
        next = prime[1..];
        holds = next.Select((token, j) => token == prime[j]).ToArray();
        size = keys.Length / next.Length;
        this.tokenCount = tokenCount;
        this.weight = (float)weight;
        proposed = new float[tokenCount];
        similarity = new float[next.Length];
        sorted = new float[next.Length];
        order = new int[next.Length];
    }

    /// <summary>The store of <paramref name="prime"/>'s contexts under <paramref name="network"/>; null where the weight is 0 or the excerpt has under 2 tokens.</summary>
    public static SeedContexts? For(LstmForecastingTransformer network, int[] prime, int tokenCount, double weight)
    {
        if (weight <= 0 || prime.Length < 2) return null;
        int count = prime.Length - 1;
        var (_, state) = network.Run([prime[0]], 1, null);
        var first = Tensors.ToArray(state.Layers[^1].H);
        int size = first.Length;
        var keys = new float[count * size];
        first.CopyTo(keys, 0);
        // The contexts come from stepping the excerpt's tokens one at a time: in plain loops where the network allows.
        var stepper = network.Network.Stepper(state);
        for (int t = 1; t < count; t++)
        {
            if (stepper is not null)
            {
                stepper.Step([prime[t]]);
                stepper.Top.CopyTo(keys.AsSpan(t * size, size));
                continue;
            }
            var (_, after) = network.Run([prime[t]], 1, state);
            state.Dispose();
            state = after;
            Tensors.ToArray(state.Layers[^1].H).CopyTo(keys, t * size);
        }
        state.Dispose();
        for (int j = 0; j < count; j++)
        {
            var key = keys.AsSpan(j * size, size);
            TensorPrimitives.Divide(key, Math.Max(TensorPrimitives.Norm(key), 1e-12f), key);
        }
        return new SeedContexts(keys, prime, tokenCount, weight);
    }

    /// <summary>
    /// Mixes each take's row of <paramref name="scores"/> [B, V] (log-probabilities, or logits) with the store's proposal
    /// for its context [B, H] and current token, in place; the rows come back as log-probabilities. The current token's
    /// probability (holding) is the network's; of the rest, a share of the weight goes where the nearest contexts that
    /// changed went. A take whose nearest contexts never changed away from its current token keeps the network's row.
    /// </summary>
    public void Mix(Span<float> scores, ReadOnlySpan<float> contexts, ReadOnlySpan<int> current)
    {
        int takes = current.Length, count = next.Length;
        for (int k = 0; k < takes; k++)
        {
            var context = contexts.Slice(k * size, size);
            float norm = Math.Max(TensorPrimitives.Norm(context), 1e-12f);
            for (int j = 0; j < count; j++)
            {
                sorted[j] = similarity[j] = TensorPrimitives.Dot(context, keys.AsSpan(j * size, size)) / norm;
                order[j] = j;
            }
            Array.Sort(sorted, order);   // ascending
            Array.Clear(proposed);
            float best = float.NaN, total = 0;
            for (int n = count - 1, found = 0; n >= 0 && found < Neighbours; n--)
            {
                int j = order[n];
                if (holds[j] || next[j] == current[k]) continue;
                if (found++ == 0) best = similarity[j];
                float w = MathF.Exp(Sharpness * (similarity[j] - best));
                proposed[next[j]] += w;
                total += w;
            }
            var row = scores.Slice(k * tokenCount, tokenCount);
            float max = TensorPrimitives.Max(row), sum = 0;
            for (int v = 0; v < tokenCount; v++) sum += row[v] = MathF.Exp(row[v] - max);
            float hold = row[current[k]] / sum, mix = total > 0 ? weight : 0;
            for (int v = 0; v < tokenCount; v++)
            {
                float p = v == current[k] ? hold : (1 - mix) * row[v] / sum + (total > 0 ? mix * (1 - hold) * proposed[v] / total : 0);
                row[v] = MathF.Log(Math.Max(p, 1e-30f));
            }
        }
    }
}
