using MusicGen.Transforms.Data;

namespace MusicGen.Tests;

public class BoundedCacheTests
{
    [Fact]
    public void Keeps_everything_while_it_fits_and_nothing_once_it_does_not()
    {
        int computed = 0;
        var cache = new BoundedCache<int, byte[]>(100, v => v.Length);
        byte[] Make(int size) { computed++; return new byte[size]; }
        var a = cache.GetOrAdd(1, _ => Make(40));
        Assert.Same(a, cache.GetOrAdd(1, _ => Make(40)));               // kept: computed once
        cache.GetOrAdd(2, _ => Make(50));
        Assert.Equal(90, cache.UsedBytes);
        Assert.Equal(2, computed);
        cache.GetOrAdd(3, _ => Make(20));                                // would pass the budget: the cache empties
        Assert.Equal(0, cache.UsedBytes);
        Assert.NotSame(a, cache.GetOrAdd(1, _ => Make(40)));             // and keeps nothing from then on
        Assert.Equal(0, cache.UsedBytes);
        Assert.Equal(4, computed);
    }
}
