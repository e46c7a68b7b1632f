using System.Numerics.Tensors;

namespace MusicGen.Transforms.Spectral;

/// <summary>
/// The envelope of log-magnitude frames on B triangular mel bands: each band's log energy (in log-magnitude units,
/// half the natural log of the filtered power), and the inverse step, which reshapes a frame by per-band gains spread
/// over the bins by the filters' weights. With 128 or more bands at 22050 Hz and 2048-sample frames the low bands are one or two bins wide, so the
/// envelope holds the notes of a frame, and an exemplar frame laid under another frame's envelope plays that frame's
/// notes (docs/design.md, "The envelope channel"). Precomputed in the constructor; each bin is under at most two
/// filters, so both directions cost a few operations a bin.
/// </summary>
public sealed class MelEnvelope
{
    private const float PowerFloor = 1e-10f;
    private readonly (int From, int To)[] bandRanges;
    private readonly float[] filters;                 // [bands, bins]
    private readonly (int Band, float Weight)[][] spread; // per bin: the bands over it, weights summing to 1

    /// <summary>
    /// Mel bands over 0 Hz to Nyquist, for frames of <paramref name="frameSize"/> samples; with
    /// <paramref name="binFloored"/>, no two band centres closer than a bin (<see cref="MelFilters.BinFloored"/>).
    /// </summary>
    public MelEnvelope(int bands, int frameSize, int sampleRate, bool binFloored = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bands, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(frameSize, 2);
        Bands = bands;
        FrameSize = frameSize;
        SampleRate = sampleRate;
        Bins = frameSize / 2 + 1;
        BinFloored = binFloored;
        filters = binFloored ? MelFilters.BinFloored(bands, frameSize, sampleRate) : MelFilters.Triangular(bands, frameSize, sampleRate);
        bandRanges = new (int, int)[bands];
        var over = Enumerable.Range(0, Bins).Select(_ => new List<(int, float)>()).ToArray();
        for (int b = 0; b < bands; b++)
        {
            var row = filters.AsSpan(b * Bins, Bins);
            int from = row.IndexOfAnyExcept(0f), to = row.LastIndexOfAnyExcept(0f) + 1;
            bandRanges[b] = from < 0 ? (0, 0) : (from, to);
            for (int i = Math.Max(0, from); i < to; i++) over[i].Add((b, row[i]));
        }
        spread = new (int, float)[Bins][];
        for (int i = 0; i < Bins; i++)
        {
            // A bin no filter covers (DC, Nyquist) follows its nearest band.
            if (over[i].Count == 0) over[i].Add((i < Bins / 2 ? 0 : bands - 1, 1f));
            float total = over[i].Sum(p => p.Item2);
            spread[i] = over[i].Select(p => (p.Item1, p.Item2 / total)).ToArray();
        }
    }

    /// <summary>Mel bands (B).</summary>
    public int Bands { get; }

    /// <summary>Whether the band centres are at least a bin apart (<see cref="MelFilters.BinFloored"/>).</summary>
    public bool BinFloored { get; }

    /// <summary>Samples per frame (N).</summary>
    public int FrameSize { get; }

    /// <summary>Sample rate the bands are placed for.</summary>
    public int SampleRate { get; }

    /// <summary>Values per log-magnitude frame (N/2+1).</summary>
    public int Bins { get; }

    /// <summary>
    /// How many bands from the bottom up are at most three bins wide, narrow enough to tell neighbouring partials apart
    /// (805 of 896 bin-floored bands at 22050 Hz and 2048-sample frames; at least 1).
    /// </summary>
    public int FineBandCount()
    {
        int b = 0;
        while (b < Bands && bandRanges[b].To - bandRanges[b].From <= 3) b++;
        return Math.Max(b, 1);
    }

    /// <summary>Writes one log-magnitude frame's band log energies into <paramref name="output"/> (B values).</summary>
    public void Energies(ReadOnlySpan<float> frame, Span<float> output)
    {
        Span<float> power = Bins <= 4096 ? stackalloc float[Bins] : new float[Bins];
        TensorPrimitives.Multiply(frame[..Bins], 2f, power);
        TensorPrimitives.Exp(power, power);
        // Most bands are one to three bins wide: the sums are inline loops, and the logarithms one vectorised pass.
        for (int b = 0; b < Bands; b++)
        {
            var (from, to) = bandRanges[b];
            float sum = 0;
            for (int i = from, w = b * Bins + from; i < to; i++, w++) sum += filters[w] * power[i];
            output[b] = sum + PowerFloor;
        }
        var energies = output[..Bands];
        TensorPrimitives.Log(energies, energies);
        TensorPrimitives.Multiply(energies, 0.5f, energies);
    }

    /// <summary>The band log energies of consecutive frames ([frames, bins] row-major in, [frames, B] out).</summary>
    public float[] Energies(ReadOnlySpan<float> frames)
    {
        int count = frames.Length / Bins;
        var result = new float[(long)count * Bands];
        for (int t = 0; t < count; t++) Energies(frames.Slice(t * Bins, Bins), result.AsSpan(t * Bands, Bands));
        return result;
    }

    /// <summary>Adds per-band gains (log-magnitude units, B values) to one frame, each bin taking its bands' weighted mean.</summary>
    public void Shape(Span<float> frame, ReadOnlySpan<float> gains)
    {
        for (int i = 0; i < Bins; i++)
        {
            float sum = 0;
            foreach (var (band, weight) in spread[i]) sum += weight * gains[band];
            frame[i] += sum;
        }
    }
}
