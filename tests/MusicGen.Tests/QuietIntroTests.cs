using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

public class QuietIntroTests
{
    private const double Hop = 0.05;

    /// <summary>Hop levels (half the log of the mean square) of stretches of (seconds, decibels).</summary>
    private static double[] Levels(params (double Seconds, double Decibels)[] stretches) =>
        [.. stretches.SelectMany(s => Enumerable.Repeat(s.Decibels / 20 * Math.Log(10), (int)Math.Round(s.Seconds / Hop)))];

    [Fact]
    public void A_quiet_intro_ends_where_a_window_reaches_half_the_typical_power()
    {
        // 8 s at -20 dB, then 30 s at 0 dB: a 2 s window reaches half the power once 0.99 s of it is loud (the quiet
        // part adds 1% of its power), so at 6.99 s, the first hop from there 7.0 s.
        Assert.Equal(7.0, QuietIntro.End(Levels((8, -20), (30, 0)), Hop, 0, 10), 6);
        // A window within 3 dB is the song proper: -2.9 dB opening, no skip.
        Assert.Equal(0, QuietIntro.End(Levels((8, -2.9), (30, 0)), Hop, 0, 10));
    }

    [Fact]
    public void A_song_at_its_level_from_the_start_or_mostly_quiet_is_not_skipped()
    {
        Assert.Equal(0, QuietIntro.End(Levels((40, -6)), Hop, 0, 10));
        // The typical level is the median window's: a short loud ending does not make the rest an intro.
        Assert.Equal(0, QuietIntro.End(Levels((30, -20), (5, 0)), Hop, 0, 10));
    }

    [Fact]
    public void The_search_starts_at_the_offset_and_leaves_a_whole_prime()
    {
        var song = Levels((20, 0), (10, -20), (30, 0)); // a quiet bridge at 20-30 s
        Assert.Equal(5, QuietIntro.End(song, Hop, 5, 10));
        Assert.Equal(29.0, QuietIntro.End(song, Hop, 20, 10), 6);
        // 8 s of intro then 12 s: the song proper starts at 7 s and leaves 13 s; asked for 15, none fits: the offset.
        var shortSong = Levels((8, -20), (12, 0));
        Assert.Equal(7.0, QuietIntro.End(shortSong, Hop, 0, 10), 6);
        Assert.Equal(0, QuietIntro.End(shortSong, Hop, 0, 15));
        // Shorter than a window: the offset.
        Assert.Equal(0, QuietIntro.End(Levels((1, -20)), Hop, 0, 0));
    }

    [Fact]
    public void Bad_arguments_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => QuietIntro.End([0.0], 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuietIntro.End([0.0], Hop, -1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuietIntro.End([0.0], Hop, 0, double.NaN));
    }
}
