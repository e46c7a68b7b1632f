namespace MusicGen.Estimators.Training;

/// <summary>
/// Which audio is held out for validation, decided once per fit from the list of files and used by every stage that
/// learns (the codebook leaves held-out files out, the trainer validates on them), so both count the same files.
/// With 3 or more files, round(files x fraction) whole files (at least one, never all) spread evenly over the list;
/// with fewer, the last <see cref="Fraction"/> of each file.
/// </summary>
public sealed class HoldOut
{
    private readonly HashSet<string> files;

    private HoldOut(double fraction, HashSet<string> files)
    {
        Fraction = fraction;
        this.files = files;
    }

    /// <summary>No validation.</summary>
    public static HoldOut None { get; } = new(0, []);

    /// <summary>The share of the audio held out (0: none).</summary>
    public double Fraction { get; }

    /// <summary>The files held out whole; empty when the end of each file is held out instead (or nothing is).</summary>
    public IReadOnlyCollection<string> Files => files;

    /// <summary>Whether whole files are held out.</summary>
    public bool WholeFiles => files.Count > 0;

    /// <summary>
    /// Chooses by the rule above from <paramref name="files"/> in order (null: not known, so the end of each file is
    /// held out). A file listed twice counts once.
    /// </summary>
    public static HoldOut Choose(IReadOnlyList<string>? files, double fraction)
    {
        if (!(fraction > 0)) return None;
        var distinct = files?.Distinct(StringComparer.Ordinal).ToList();
        if (distinct is not { Count: >= 3 } list) return new HoldOut(fraction, []);
        int n = list.Count, held = Math.Clamp((int)Math.Round(n * fraction), 1, n - 1);
        return new HoldOut(fraction, Enumerable.Range(0, held).Select(j => list[(int)Math.Floor((j + 0.5) * n / held)]).ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>Whether <paramref name="file"/> is held out whole.</summary>
    public bool Contains(string file) => files.Contains(file);

    /// <summary>
    /// Held-out steps at the end of a run of <paramref name="steps"/> steps of <paramref name="file"/>: all of a file
    /// held out whole, else (without whole files) the validation share of it, else none.
    /// </summary>
    public int HeldSteps(string file, int steps) =>
        files.Contains(file) ? steps
        : files.Count == 0 && Fraction > 0 && steps >= 2 ? Math.Max(1, (int)Math.Ceiling(steps * Fraction))
        : 0;
}
