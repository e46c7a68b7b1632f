using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Transforms.Network;

/// <summary>
/// Matrix-vector products for networks stepped one frame at a time in plain loops (<see cref="FrameLstmStepper"/>, the
/// envelope channel's LSTM): at batch 1 LibTorch's dispatch costs more than the arithmetic (docs/design.md). The rows
/// are split among up to four threads; each row is one thread's whole dot product, so the figures do not depend on the split.
/// </summary>
internal static class RowProducts
{
    /// <summary>
    /// For each of <paramref name="streams"/> inputs s of <paramref name="width"/> values (consecutive from
    /// <paramref name="xOffset"/>): output[outputOffset + s x rows + r] = bias[biasOffset + r] + W[r] . x[s], W being
    /// [rows, width] row-major.
    /// </summary>
    public static void Compute(float[] weights, int rows, int width, float[] bias, int biasOffset, float[] x, int xOffset,
        int streams, float[] output, int outputOffset)
    {
        void Run(int from, int to)
        {
            for (int r = from; r < to; r++)
            {
                var w = new ReadOnlySpan<float>(weights, r * width, width);
                for (int s = 0; s < streams; s++)
                    output[outputOffset + s * rows + r] = bias[biasOffset + r] + TensorPrimitives.Dot(w, new ReadOnlySpan<float>(x, xOffset + s * width, width));
            }
        }
        int parts = Math.Min(Math.Min(Environment.ProcessorCount, 4), rows / 256);
        if (parts <= 1) Run(0, rows);
        else Parallel.For(0, parts, p => Run(rows * p / parts, rows * (p + 1) / parts));
    }
}
