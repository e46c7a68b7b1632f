namespace MusicGen;

/// <summary>
/// Holds each take's beat guide to the strength the primed excerpt's own beat gave it (<see cref="GenerationOptions.SeedGuide"/>).
/// The guide scales every token's onset by how sure the beat clock is of an onset at the next step
/// (<see cref="Transforms.Network.FrameLstm.GuideScale"/>), and the clock reads the take's own onsets: a take that
/// flickers between sounds gives its clock a beat of its own, surer than the seed's, the stronger guide drives more
/// flicker, and the loop feeds itself (on asc-music's machine_wars the takes' scale ran to 5-9 times the seed's while the
/// hyperrogue seeds' takes stayed at their seed's; docs/evaluation.md). Each take's scale is followed as a decayed mean;
/// where it is above the excerpt's mean scale, the guide is multiplied by (excerpt's / take's) to the power of the strength.
/// </summary>
internal sealed class SeedGuide
{
    /// <summary>
    /// The decay of each take's mean scale per step: about 100 steps (2.3 s at the default's 43 steps a second), a few
    /// beats, so that a beat's own swing between onsets and holds does not move the factor but a take's drift does.
    /// </summary>
    public const double Decay = 0.99;

    private readonly double seedScale, strength;
    private readonly double[] takeScales;

    private SeedGuide(double seedScale, double strength, int takes)
    {
        this.seedScale = seedScale;
        this.strength = strength;
        // A take starts where its excerpt left it: at the excerpt's own strength.
        takeScales = Enumerable.Repeat(seedScale, takes).ToArray();
    }

    /// <summary>
    /// A hold for <paramref name="takes"/> takes of an excerpt whose clock's scale was <paramref name="primeScales"/> at
    /// each step; null when the strength is 0 or there is no excerpt.
    /// </summary>
    public static SeedGuide? For(IReadOnlyList<float> primeScales, int takes, double strength) =>
        strength == 0 || primeScales.Count == 0 ? null : new SeedGuide(primeScales.Average(s => (double)s), strength, takes);

    /// <summary>The excerpt's mean scale.</summary>
    public double SeedScale => seedScale;

    /// <summary>Take <paramref name="take"/>'s decayed mean scale.</summary>
    public double TakeScale(int take) => takeScales[take];

    /// <summary>Moves every take's mean by its clock's features after this step ([B, 2], one row per take).</summary>
    public void Observe(ReadOnlySpan<float> clock)
    {
        for (int k = 0; k < takeScales.Length; k++)
            takeScales[k] = Decay * takeScales[k] + (1 - Decay) * Transforms.Network.FrameLstm.GuideScale(clock, k);
    }

    /// <summary>
    /// What take <paramref name="take"/>'s guide is multiplied by: 1 at or below the excerpt's scale, less above it (0
    /// where the excerpt's clock heard no beat at all: no beat is imposed on a take whose seed has none).
    /// </summary>
    public double Factor(int take)
    {
        double scale = takeScales[take];
        return scale <= seedScale ? 1 : Math.Pow(seedScale / scale, strength);
    }
}
