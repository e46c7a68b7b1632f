using MusicGen.Transforms.Spectral;

namespace MusicGen.Tests;

public class PartialSustainTests
{
    private const int Bins = 16;

    /// <summary>Frames of <see cref="Bins"/> bins at -10, frame 0 replaced by <paramref name="first"/>.</summary>
    private static float[] Take(int frames, float[] first)
    {
        var take = Enumerable.Repeat(-10f, frames * Bins).ToArray();
        first.CopyTo(take, 0);
        return take;
    }

    [Fact]
    public void A_partial_fades_at_the_decay_until_it_no_longer_stands_out()
    {
        // A peak of 0 over a floor of -10, then silence: held 0.5 lower each frame while it stands 1 above the bins two
        // away (down to -9), carried once more (-9.5), then gone.
        var first = Enumerable.Repeat(-10f, Bins).ToArray();
        first[8] = 0;
        var take = Take(24, first);
        PartialSustain.Apply(take, Bins, 0.5);
        for (int t = 0; t < 24; t++)
        {
            float expected = t <= 19 ? -0.5f * t : -10;
            Assert.Equal(expected, take[t * Bins + 8], 5);
            for (int b = 0; b < Bins; b++)
                if (b != 8) Assert.Equal(-10f, take[t * Bins + b]);
        }
    }

    [Fact]
    public void Broadband_frames_are_not_held_and_nothing_gets_quieter()
    {
        // A flat loud frame (noise-like: nothing stands out) leaves the silence after it as it was.
        var take = Take(4, Enumerable.Repeat(0f, Bins).ToArray());
        var before = take.ToArray();
        PartialSustain.Apply(take, Bins, 0.1);
        Assert.Equal(before, take);
        // A partial into a louder frame: the louder frame is left as it is; every value is at least what it was.
        var random = new Random(5);
        var music = Enumerable.Range(0, 50 * Bins).Select(_ => (float)(random.NextDouble() * 8 - 10)).ToArray();
        var held = music.ToArray();
        PartialSustain.Apply(held, Bins, 0.2);
        Assert.All(Enumerable.Range(0, music.Length), i => Assert.True(held[i] >= music[i]));
        Assert.Contains(Enumerable.Range(0, music.Length), i => held[i] > music[i]);
        // No decay holds nothing; a negative one is refused.
        var same = music.ToArray();
        PartialSustain.Apply(same, Bins, 0);
        Assert.Equal(music, same);
        Assert.Throws<ArgumentOutOfRangeException>(() => PartialSustain.Apply(same, Bins, -0.1));
    }

    [Fact]
    public void A_partial_goes_on_under_a_louder_stroke_and_comes_back_after_it()
    {
        // A peak of 0 at bin 8, then two flat frames at 1 (a stroke, louder everywhere: nothing peaks), then silence.
        var first = Enumerable.Repeat(-10f, Bins).ToArray();
        first[8] = 0;
        var take = Take(8, first);
        take.AsSpan(Bins, 2 * Bins).Fill(1);
        PartialSustain.Apply(take, Bins, 0.5);
        // The stroke is left as it was; the partial fades under it (-0.5, -1) and comes back 1.5 lower after it.
        Assert.All(Enumerable.Range(Bins, 2 * Bins), i => Assert.Equal(1f, take[i]));
        for (int t = 3; t < 8; t++)
        {
            Assert.Equal(-0.5f * t, take[t * Bins + 8], 5);
            for (int b = 0; b < Bins; b++)
                if (b != 8) Assert.Equal(-10f, take[t * Bins + b]);
        }
    }
}
