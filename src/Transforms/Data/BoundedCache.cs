namespace MusicGen.Transforms.Data;

/// <summary>
/// Keeps values computed during one fit so that later passes over the same view reuse them, as long as all of them fit
/// a budget of bytes. The first value that would not fit empties the cache for good: passes read the files in the same
/// order, so a partial cache saves little, and holding hundreds of megabytes of large arrays while the rest of the fit
/// allocates and frees its own fragmented the managed heap (a 1.75-hour collection peaked at 7.7 GB with 2 x 256 MiB
/// kept, 4.7 GB with none). Thread-safe.
/// </summary>
internal sealed class BoundedCache<TKey, TValue>(long budgetBytes, Func<TValue, long> sizeOf) where TKey : notnull
{
    private readonly Dictionary<TKey, TValue> kept = [];
    private readonly object gate = new();
    private long used;
    private bool overflowed;

    /// <summary>Bytes the kept values take.</summary>
    public long UsedBytes
    {
        get
        {
            lock (gate) return used;
        }
    }

    /// <summary>The kept value for <paramref name="key"/>, else <paramref name="compute"/>'s, kept when it fits the budget.</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> compute)
    {
        lock (gate)
        {
            if (kept.TryGetValue(key, out var value)) return value;
        }
        var computed = compute(key);
        long size = sizeOf(computed);
        lock (gate)
        {
            if (kept.TryGetValue(key, out var raced)) return raced;
            if (overflowed) return computed;
            if (used + size <= budgetBytes)
            {
                kept[key] = computed;
                used += size;
            }
            else
            {
                overflowed = true;
                kept.Clear();
                used = 0;
            }
        }
        return computed;
    }
}
