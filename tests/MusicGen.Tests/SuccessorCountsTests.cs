namespace MusicGen.Tests;

public class SuccessorCountsTests
{
    [Fact]
    public void Counts_changes_only_and_draws_successors_in_proportion()
    {
        // Changes: 0->1 twice, 1->0 twice, 0->2 once; the holds (0 0, 2 2) are not counted.
        var counts = new SuccessorCounts([0, 0, 1, 0, 1, 0, 2, 2], tokenCount: 4);
        Assert.Equal(2, counts.Count(0, 1));
        Assert.Equal(1, counts.Count(0, 2));
        Assert.Equal(0, counts.Count(0, 0));
        Assert.Equal(0, counts.Count(2, 2));
        var random = new Random(3);
        var drawn = Enumerable.Range(0, 3000).Select(_ => counts.Draw(0, random)!.Value).ToList();
        Assert.DoesNotContain(0, drawn);
        Assert.DoesNotContain(3, drawn);
        Assert.InRange(drawn.Count(t => t == 1) / 3000.0, 0.62, 0.71);   // 2 of 3
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(0, counts.Draw(1, random)));

        counts.Add(1, 3);
        counts.Add(3, 3);   // a hold: not counted
        Assert.Equal(1, counts.Count(1, 3));
        Assert.Equal(0, counts.Count(3, 3));
    }

    [Fact]
    public void Where_the_song_never_left_a_sound_it_draws_the_sounds_it_changed_to()
    {
        // Token 2 was changed to once and never left; 0 three times, 1 twice.
        var counts = new SuccessorCounts([1, 0, 1, 0, 3, 0, 2], tokenCount: 4);
        var random = new Random(5);
        var drawn = Enumerable.Range(0, 4000).Select(_ => counts.Draw(2, random)!.Value).ToList();
        Assert.DoesNotContain(2, drawn);                                 // never the current sound
        Assert.InRange(drawn.Count(t => t == 0) / 4000.0, 0.55, 0.65);  // 3 of the 5 other arrivals
        Assert.InRange(drawn.Count(t => t == 1) / 4000.0, 0.15, 0.25);  // 1 of 5 (the first token is no arrival)

        Assert.Null(new SuccessorCounts([4, 4, 4], tokenCount: 5).Draw(4, random));  // nothing to draw from
        Assert.Null(new SuccessorCounts([], tokenCount: 5).Draw(0, random));
    }
}
