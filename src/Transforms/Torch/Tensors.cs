using static TorchSharp.torch;

namespace MusicGen.Transforms.Torch;

/// <summary>Moving float arrays in and out of LibTorch without the extra copies <c>torch.tensor(float[])</c> makes.</summary>
public static class Tensors
{
    /// <summary>A tensor of the given shape that shares <paramref name="data"/>'s memory (the array must outlive it).</summary>
    public static Tensor Wrap(float[] data, params long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count > data.Length) throw new ArgumentException($"Shape needs {count} values; the array has {data.Length}.", nameof(shape));
        if (count == 0) return zeros(shape);
        // The flat tensor is view()'s receiver and nothing else holds it: outside a DisposeScope a collection during the
        // call could finalize it while LibTorch reads it (docs/design.md, "Scalars must outlive the call"). The view
        // shares its storage, which keeps the array pinned.
        var flat = frombuffer(data, ScalarType.Float32, count);
        var viewed = flat.view(shape);
        GC.KeepAlive(flat);
        return viewed;
    }

    /// <summary>Copies <paramref name="source"/> (any layout) into a new array, in row-major order of its shape.</summary>
    public static float[] ToArray(Tensor source)
    {
        var result = new float[source.numel()];
        if (result.Length == 0) return result;
        using var target = Wrap(result, source.shape);
        target.copy_(source);
        GC.KeepAlive(source);   // a temporary source must not be finalized during the copy (docs/design.md)
        return result;
    }
}
