using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

public class SongExcerptsTests
{
    /// <summary>A stereo "song" whose samples say where they are: left is n, right -n (in units of 1e-6).</summary>
    private static float[][] Ramp(int length) =>
    [
        Enumerable.Range(0, length).Select(n => n * 1e-6f).ToArray(),
        Enumerable.Range(0, length).Select(n => -n * 1e-6f).ToArray(),
    ];

    private static SongExcerpts Read(float[][] song, int rate, params int[] blocks)
    {
        var excerpts = new SongExcerpts(0.5, 8);
        int at = 0;
        foreach (int size in blocks.Append(song[0].Length - blocks.Sum()))
        {
            excerpts.Add([.. song.Select(c => c[at..(at + size)])], size, rate);
            at += size;
        }
        return excerpts;
    }

    private static int Start(AudioClip excerpt) => (int)Math.Round(excerpt.Channels[0][0] * 1e6);

    [Fact]
    public void A_short_song_is_kept_whole_in_excerpts_of_the_length()
    {
        // 3.3 s at 1000 Hz with excerpts of 0.5 s, at most 8: all of it, as 6 whole excerpts and the last 300 samples.
        var song = Ramp(3300);
        var excerpts = Read(song, 1000, 123).Excerpts();
        Assert.Equal(7, excerpts.Count);
        Assert.All(excerpts.SkipLast(1), e => Assert.Equal(500, e.Length));
        Assert.Equal(300, excerpts[^1].Length);
        Assert.Equal(song[0], excerpts.SelectMany(e => e.Channels[0]));
        Assert.Equal(song[1], excerpts.SelectMany(e => e.Channels[1]));
        Assert.All(excerpts, e => Assert.Equal(1000, e.SampleRate));
    }

    [Fact]
    public void A_long_song_leaves_evenly_spaced_excerpts_from_start_to_end()
    {
        // 40 s at 1000 Hz: the period doubles from 0.5 s until at most 8 excerpts are kept, 8 s apart (5 of them).
        var song = Ramp(40000);
        var excerpts = Read(song, 1000, 777, 4096, 10000).Excerpts();
        Assert.Equal([0, 8000, 16000, 24000, 32000], excerpts.Select(Start));
        foreach (var e in excerpts)
        {
            int start = Start(e);
            Assert.Equal(song[0][start..(start + 500)], e.Channels[0]);
            Assert.Equal(song[1][start..(start + 500)], e.Channels[1]);
        }
        // Any length keeps between half the most and the most, and the same excerpts whatever the blocks.
        for (int length = 4000; length <= 64000; length += 2750)
        {
            var kept = Read(Ramp(length), 1000).Excerpts();
            Assert.InRange(kept.Count, 4, 8);
            Assert.Equal(kept.Select(Start), Read(Ramp(length), 1000, 499, 1, 3000).Excerpts().Select(Start));
            Assert.True(length - Start(kept[^1]) <= 2 * (Start(kept[1]) - Start(kept[0])), $"{length} samples: the last excerpt starts at {Start(kept[^1])}");
        }
    }

    [Fact]
    public void A_decoder_starting_over_is_forgotten()
    {
        var song = Ramp(20000);
        var excerpts = Read(song, 1000);
        excerpts.Restart();
        Assert.Empty(excerpts.Excerpts());
        excerpts.Add(song, 20000, 1000);
        Assert.Equal(Read(song, 1000).Excerpts().Select(Start), excerpts.Excerpts().Select(Start));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SongExcerpts(0, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SongExcerpts(1, 1));
    }
}
