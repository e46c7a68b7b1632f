namespace MusicGen.Transforms.Audio;

/// <summary>
/// Short excerpts spread evenly over a whole song, kept while it is read block by block (<see cref="Add"/> takes what
/// <see cref="AudioFile.ReadBlocks"/> gives): excerpts <see cref="LengthSeconds"/> long start one period apart, the
/// period starting at their length (all of the song is kept) and doubling, every other excerpt dropped, whenever more
/// than <see cref="MaxExcerpts"/> are kept. A song of any length leaves between half of MaxExcerpts and all of them,
/// from its start to its end, and memory does not grow with its length.
/// </summary>
public sealed class SongExcerpts
{
    private readonly List<(long Start, float[][] Samples)> kept = [];
    private long seen, period, length;
    private int rate, filled;

    /// <summary>Keeps excerpts of <paramref name="lengthSeconds"/>, at most <paramref name="maxExcerpts"/> (at least 2).</summary>
    public SongExcerpts(double lengthSeconds, int maxExcerpts)
    {
        if (!(lengthSeconds > 0)) throw new ArgumentOutOfRangeException(nameof(lengthSeconds));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExcerpts, 2);
        LengthSeconds = lengthSeconds;
        MaxExcerpts = maxExcerpts;
    }

    /// <summary>How long each excerpt is, in seconds.</summary>
    public double LengthSeconds { get; }

    /// <summary>The most excerpts kept at once.</summary>
    public int MaxExcerpts { get; }

    /// <summary>Takes the next <paramref name="frames"/> samples of each channel of <paramref name="block"/>, at <paramref name="rate"/> Hz.</summary>
    public void Add(float[][] block, int frames, int rate)
    {
        if (seen == 0)
        {
            this.rate = rate;
            period = length = Math.Max(1, (long)Math.Round(LengthSeconds * rate));
        }
        int i = 0;
        while (i < frames)
        {
            long position = seen + i, start = position / period * period, offset = position - start;
            if (offset >= length)
            {
                i += (int)Math.Min(frames - i, period - offset); // between excerpts
                continue;
            }
            if (kept.Count == 0 || kept[^1].Start != start) Begin(start, block.Length);
            if (kept[^1].Start != start) continue; // thinning dropped the excerpt just begun: the period has changed
            int count = (int)Math.Min(frames - i, length - offset);
            var samples = kept[^1].Samples;
            for (int c = 0; c < samples.Length; c++) block[c].AsSpan(i, count).CopyTo(samples[c].AsSpan(filled));
            filled += count;
            i += count;
        }
        seen += frames;
    }

    private void Begin(long start, int channels)
    {
        kept.Add((start, Enumerable.Range(0, channels).Select(_ => new float[length]).ToArray()));
        filled = 0;
        if (kept.Count <= MaxExcerpts) return;
        period *= 2;
        kept.RemoveAll(e => e.Start % period != 0);
        if (kept[^1].Start != start) filled = (int)length; // the one just begun went: the last one kept is whole
    }

    /// <summary>Forgets everything read (a decoder starting over).</summary>
    public void Restart()
    {
        kept.Clear();
        seen = period = length = 0;
        filled = 0;
    }

    /// <summary>The excerpts kept so far, in order; the last one is cut where the song ended.</summary>
    public IReadOnlyList<AudioClip> Excerpts() => [.. kept.Select((e, k) => new AudioClip(rate,
        k < kept.Count - 1 ? e.Samples : [.. e.Samples.Select(c => c[..filled])]))];
}
