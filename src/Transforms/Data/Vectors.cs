using Microsoft.ML.Data;

namespace MusicGen.Transforms.Data;

/// <summary>Reading ML.NET vectors into plain arrays.</summary>
internal static class Vectors
{
    /// <summary>A copy of a vector's values, dense.</summary>
    public static float[] Dense(in VBuffer<float> v)
    {
        var result = new float[v.Length];
        v.CopyTo(result);
        return result;
    }
}
