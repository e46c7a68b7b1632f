namespace MusicGen.Transforms.Audio;

/// <summary>
/// Where a song first reaches its typical level: the end of a quiet intro. A song's level is read in windows of
/// <see cref="WindowSeconds"/>; its typical level is the median window's mean power (windows every second over the whole
/// song), and the intro ends at the first window, from a given start, whose mean power is at most
/// <see cref="DropDecibels"/> below that. Many songs open with a few quiet seconds (pads, a count-in) before the beat
/// and the instruments come in; a continuation primed on those alone has neither to continue.
/// </summary>
public static class QuietIntro
{
    /// <summary>The window a level is read over: long enough to span a beat or two, short enough to find where an intro ends.</summary>
    public const double WindowSeconds = 2;

    /// <summary>How far below the typical level a window still counts as the song proper: half its power.</summary>
    public const double DropDecibels = 3;

    /// <summary>
    /// The first time, in seconds, at or after <paramref name="fromSeconds"/> where <paramref name="levels"/> (each hop's
    /// level as half the log of its mean square, <c>DynamicsMatch.LevelReader</c>'s) reach the song's typical level,
    /// with at least <paramref name="keepSeconds"/> of song from there on; <paramref name="fromSeconds"/> itself when
    /// the song is already at its level there, no later start leaves enough, or the song is shorter than a window.
    /// </summary>
    public static double End(IReadOnlyList<double> levels, double hopSeconds, double fromSeconds, double keepSeconds)
    {
        if (!(hopSeconds > 0)) throw new ArgumentOutOfRangeException(nameof(hopSeconds));
        if (!(fromSeconds >= 0)) throw new ArgumentOutOfRangeException(nameof(fromSeconds));
        if (!(keepSeconds >= 0)) throw new ArgumentOutOfRangeException(nameof(keepSeconds));
        int window = Math.Max(1, (int)Math.Round(WindowSeconds / hopSeconds)), n = levels.Count;
        if (n < window) return fromSeconds;
        // Prefix sums of each hop's power; a window's mean power is one difference.
        var sums = new double[n + 1];
        for (int i = 0; i < n; i++) sums[i + 1] = sums[i] + Math.Exp(2 * levels[i]);
        double Power(int start) => (sums[start + window] - sums[start]) / window;
        int second = Math.Max(1, (int)Math.Round(1 / hopSeconds));
        var typical = new List<double>();
        for (int start = 0; start + window <= n; start += second) typical.Add(Power(start));
        typical.Sort();
        double median = typical.Count % 2 == 1 ? typical[typical.Count / 2] : (typical[typical.Count / 2 - 1] + typical[typical.Count / 2]) / 2;
        double threshold = median * Math.Pow(10, -DropDecibels / 10);
        int from = (int)Math.Ceiling(fromSeconds / hopSeconds - 1e-9);
        int last = Math.Min(n - window, (int)Math.Floor((n * hopSeconds - keepSeconds) / hopSeconds + 1e-9));
        for (int start = from; start <= last; start++)
            if (Power(start) >= threshold) return start == from ? fromSeconds : start * hopSeconds;
        return fromSeconds;
    }
}
