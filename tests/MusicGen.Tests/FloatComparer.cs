namespace MusicGen.Tests;

/// <summary>Floats equal within a tolerance, for <c>Assert.Equal</c> on arrays.</summary>
internal sealed class FloatComparer(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
    public int GetHashCode(float obj) => 0;
}
