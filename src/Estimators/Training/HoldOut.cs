using MusicGen.Transforms;

namespace MusicGen.Estimators.Training;

/// <summary>
/// Which audio is held out for validation, decided once per fit from the list of files and used by every stage that
/// learns (the codebook leaves it out, the trainer validates on it), so both count the same audio.
/// With 3 or more files, round(files x fraction) whole files (at least one, never all) spread evenly over the list;
/// with fewer, the end of each file, never trained on and never next to trained audio but at one boundary: under
/// <see cref="BatchOrdering.ContiguousStreams"/> (each file cut into B streams side by side in time) the last
/// round(B x fraction) streams (at least one, never all), else the last ceil(steps x fraction) steps.
/// </summary>
public sealed class HoldOut
{
    private readonly HashSet<string> files;

    private HoldOut(double fraction, HashSet<string> files, BatchOrdering ordering, int batchSize)
    {
        Fraction = fraction;
        this.files = files;
        Ordering = ordering;
        BatchSize = batchSize;
    }

    /// <summary>No validation.</summary>
    public static HoldOut None { get; } = new(0, [], BatchOrdering.Seed2017, 1);

    /// <summary>The share of the audio held out (0: none).</summary>
    public double Fraction { get; }

    /// <summary>The files held out whole; empty when the end of each file is held out instead (or nothing is).</summary>
    public IReadOnlyCollection<string> Files => files;

    /// <summary>Whether whole files are held out.</summary>
    public bool WholeFiles => files.Count > 0;

    /// <summary>How the trainer's batches lay a file's frames out (which decides what "the end of a file" is).</summary>
    public BatchOrdering Ordering { get; }

    /// <summary>Rows per batch of the trainer's input (B).</summary>
    public int BatchSize { get; }

    /// <summary>Whether the end of each file is held out as whole streams (see the class summary).</summary>
    public bool EndStreams => !WholeFiles && Fraction > 0 && Ordering == BatchOrdering.ContiguousStreams && BatchSize >= 2;

    /// <summary>The streams held out at the end of each file when <see cref="EndStreams"/> (else 0).</summary>
    public int EndStreamsHeld => EndStreams ? EndStreamCount(BatchSize) : 0;

    /// <summary>
    /// Chooses by the rule above from <paramref name="files"/> in order (null: not known, so the end of each file is
    /// held out), for batches laid out by <paramref name="ordering"/> with <paramref name="batchSize"/> rows. A file
    /// listed twice counts once.
    /// </summary>
    public static HoldOut Choose(IReadOnlyList<string>? files, double fraction, BatchOrdering ordering = BatchOrdering.Seed2017, int batchSize = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (!(fraction > 0)) return None;
        var distinct = files?.Distinct(StringComparer.Ordinal).ToList();
        if (distinct is not { Count: >= 3 } list) return new HoldOut(fraction, [], ordering, batchSize);
        int n = list.Count, held = Math.Clamp((int)Math.Round(n * fraction), 1, n - 1);
        return new HoldOut(fraction, Enumerable.Range(0, held).Select(j => list[(int)Math.Floor((j + 0.5) * n / held)]).ToHashSet(StringComparer.Ordinal),
            ordering, batchSize);
    }

    /// <summary>Whether <paramref name="file"/> is held out whole.</summary>
    public bool Contains(string file) => files.Contains(file);

    /// <summary>
    /// The held-out part of a run of <paramref name="steps"/> steps x <paramref name="streams"/> streams of
    /// <paramref name="file"/>: its last <c>Steps</c> steps of its last <c>Streams</c> streams. All of a file held out
    /// whole; the end streams (all steps) or end steps (all streams) of a file by the rule above; else none (0, 0).
    /// </summary>
    public (int Steps, int Streams) Held(string file, int steps, int streams)
    {
        if (files.Contains(file)) return (steps, streams);
        if (WholeFiles || !(Fraction > 0)) return (0, 0);
        if (EndStreams && streams >= 2) return (steps, EndStreamCount(streams));
        return steps >= 2 ? (Math.Max(1, (int)Math.Ceiling(steps * Fraction)), streams) : (0, 0);
    }

    /// <summary>
    /// The first frame of a file of <paramref name="frames"/> frames that validation reads (0: the whole file;
    /// <paramref name="frames"/>: none of it), laid out in batches as <see cref="Ordering"/> and
    /// <see cref="BatchSize"/> say; the codebook learns only the frames before it.
    /// </summary>
    public int FirstHeldFrame(string file, int frames)
    {
        if (files.Contains(file)) return 0;
        if (WholeFiles || !(Fraction > 0)) return frames;
        int b = BatchSize, streamLength = frames / b;
        if (EndStreams) return streamLength < 2 ? frames : (b - EndStreamCount(b)) * streamLength;
        // Step k of a file's batches reads frames k*B .. k*B+B-1 (Seed2017 ordering, or one stream).
        int steps = Math.Max(0, streamLength - 1);
        var (held, _) = Held(file, steps, b);
        return held == 0 ? frames : (steps - held) * b;
    }

    private int EndStreamCount(int streams) => Math.Clamp((int)Math.Round(streams * Fraction), 1, streams - 1);
}
