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
        return count == 0 ? zeros(shape) : frombuffer(data, ScalarType.Float32, count).view(shape);
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
