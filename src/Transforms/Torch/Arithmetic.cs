using TorchSharp;
using static TorchSharp.torch;

namespace MusicGen.Transforms.Torch;

/// <summary>
/// Tensor addition that never hands LibTorch a Scalar the garbage collector may free mid-call. TorchSharp 0.107's
/// <c>a + b</c>, <c>add(x)</c> and <c>add_(x)</c> build a temporary Scalar 1 for the scale factor and pass its handle
/// without keeping it alive; a collection during the call frees it, and LibTorch fails with "Expected false to be
/// true" (docs/design.md). These pass a Scalar held in a static field for the process's life. (Subtraction takes no
/// scale factor in TorchSharp; <see cref="Minus(Tensor, Tensor)"/> is here so that the two read alike.) TorchSharp's
/// <c>square()</c> is <c>pow(2)</c> with a temporary Scalar 2, and failed the same way under a collection in the
/// envelope fit's loss: <see cref="Squared"/> passes a held one.
/// </summary>
public static class Arithmetic
{
    /// <summary>The scale factor 1, never collected.</summary>
    public static readonly Scalar One = 1;

    /// <summary>The exponent 2, never collected.</summary>
    private static readonly Scalar Two = 2;

    /// <summary><paramref name="x"/> squared, element by element (what <c>square()</c> computes).</summary>
    public static Tensor Squared(this Tensor x) => x.pow(Two);

    /// <summary><paramref name="a"/> + <paramref name="b"/>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><paramref name="a"/> + <paramref name="b"/> (hold <paramref name="b"/> for the call).</summary>
    public static Tensor Plus(this Tensor a, Scalar b) => a.add(b, One);

    /// <summary><paramref name="a"/> - <paramref name="b"/>.</summary>
    public static Tensor Minus(this Tensor a, Tensor b) => a.sub(b);

    /// <summary><paramref name="a"/> - <paramref name="b"/> (hold <paramref name="b"/> for the call).</summary>
    public static Tensor Minus(this Tensor a, Scalar b) => a.sub(b);

    /// <summary><paramref name="a"/> += <paramref name="b"/>, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><paramref name="a"/> += <paramref name="b"/>, in place (hold <paramref name="b"/> for the call).</summary>
    public static Tensor PlusInPlace(this Tensor a, Scalar b) => a.add_(b, One);
}
