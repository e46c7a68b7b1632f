namespace MusicGen.Transforms.Data;

/// <summary>
/// Keeps values computed during one fit so that later passes over the same view reuse them, up to a budget of bytes.
/// Entries are kept in the order they come until the budget is full; after that new values are computed and handed
/// out but not kept (never evicting: passes read files in the same order, so a least-recently-used policy would miss
/// on every file once the data outgrows the budget). Thread-safe.
/// </summary>
internal sealed class BoundedCache<TKey, TValue>(long budgetBytes, Func<TValue, long> sizeOf) where TKey : notnull
{
    private readonly Dictionary<TKey, TValue> kept = [];
    private readonly object gate = new();
    private long used;

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
            if (used + size <= budgetBytes)
            {
                kept[key] = computed;
                used += size;
            }
        }
        return computed;
    }
}
