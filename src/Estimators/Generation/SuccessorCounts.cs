namespace MusicGen;

/// <summary>
/// How often each token followed a change from each other token in one stream (a seed's primed excerpt, then its take):
/// the song's own memory behind <see cref="GenerationOptions.SongMemory"/>. Holds are not counted: only which sound
/// came next.
/// </summary>
internal sealed class SuccessorCounts
{
    private readonly int tokenCount;
    private readonly Dictionary<int, int[]> rows = [];
    private readonly int[] arrivals;
    private readonly Dictionary<int, int> rowTotals = [];
    private int changes;

    /// <summary>Counts over <paramref name="tokenCount"/> tokens, starting with the changes in <paramref name="prime"/>.</summary>
    public SuccessorCounts(ReadOnlySpan<int> prime, int tokenCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenCount, 1);
        this.tokenCount = tokenCount;
        arrivals = new int[tokenCount];
        for (int t = 1; t < prime.Length; t++) Add(prime[t - 1], prime[t]);
    }

    /// <summary>Counts <paramref name="next"/> after <paramref name="current"/> when the two differ.</summary>
    public void Add(int current, int next)
    {
        if (current == next) return;
        if (!rows.TryGetValue(current, out var row)) rows[current] = row = new int[tokenCount];
        row[next]++;
        rowTotals[current] = rowTotals.GetValueOrDefault(current) + 1;
        arrivals[next]++;
        changes++;
    }

    /// <summary>The times <paramref name="next"/> followed a change from <paramref name="current"/>.</summary>
    public int Count(int current, int next) => rows.TryGetValue(current, out var row) ? row[next] : 0;

    /// <summary>
    /// A token drawn in proportion to the times it followed a change from <paramref name="current"/>; where the stream
    /// never left <paramref name="current"/>, in proportion to the times the stream changed to it (never
    /// <paramref name="current"/>); null when the stream has no other change to draw from.
    /// </summary>
    public int? Draw(int current, Random random)
    {
        if (rows.TryGetValue(current, out var row)) return Pick(row, rowTotals[current], -1, random);
        int total = changes - arrivals[current];
        return total > 0 ? Pick(arrivals, total, current, random) : null;
    }

    private static int Pick(int[] counts, int total, int excluded, Random random)
    {
        int r = random.Next(total);
        for (int t = 0; t < counts.Length; t++)
        {
            if (t == excluded) continue;
            r -= counts[t];
            if (r < 0) return t;
        }
        throw new InvalidOperationException("Counts and their total disagree.");
    }
}
