namespace MusicGen;

/// <summary>
/// Holds back takes that change sound more often than the primed excerpt does (<see cref="GenerationOptions.SeedPace"/>).
/// The network and the beat guide, trained and tuned on other music, may change tokens far more often than the seed:
/// a flicker of whole-frame sounds that is heard as noise. Each take has one logit offset for holding its previous
/// token; after every draw it moves by the rate times (1 if the draw changed the token, else 0, less the excerpt's share
/// of changes), and it never goes below 0: a take that has changed more often than the excerpt is held back until its
/// share of changes is the excerpt's again, and one that changes less is left as the network plays it (pushing such
/// takes to change sent them to sounds the network did not expect, and cost FAD on every laboratory).
/// </summary>
internal sealed class SeedPace
{
    /// <summary>The offset is kept between 0 and this many logits.</summary>
    public const double Bound = 10;

    /// <summary>A primed excerpt shorter than this many tokens has no pace to keep.</summary>
    public const int ShortestPrime = 32;

    private readonly double[] offsets;
    private readonly double rate;

    private SeedPace(double target, double rate, int takes)
    {
        Target = target;
        this.rate = rate;
        offsets = new double[takes];
    }

    /// <summary>The share of steps at which the takes are steered to change token (<see cref="ChangeShare"/>).</summary>
    public double Target { get; }

    /// <summary>A steering for <paramref name="takes"/> takes of <paramref name="prime"/>; null when the rate is 0 or the excerpt is too short.</summary>
    public static SeedPace? For(int[] prime, int takes, double rate) =>
        rate == 0 || prime.Length < ShortestPrime ? null : new SeedPace(ChangeShare(prime), rate, takes);

    /// <summary>The share of the excerpt's steps at which its token changes.</summary>
    public static double ChangeShare(int[] prime)
    {
        int changes = 0;
        for (int t = 1; t < prime.Length; t++) if (prime[t] != prime[t - 1]) changes++;
        return prime.Length < 2 ? 0 : (double)changes / (prime.Length - 1);
    }

    /// <summary>The current offset of take <paramref name="take"/> for holding its previous token.</summary>
    public double Offset(int take) => offsets[take];

    /// <summary>Adds take <paramref name="take"/>'s offset to the logit of <paramref name="previous"/>, its token so far.</summary>
    public void Steer(Span<float> logits, int take, int previous) => logits[previous] += (float)offsets[take];

    /// <summary>Moves take <paramref name="take"/>'s offset after a draw that <paramref name="changed"/> its token or held it.</summary>
    public void Drawn(int take, bool changed) =>
        offsets[take] = Math.Clamp(offsets[take] + rate * ((changed ? 1 : 0) - Target), 0, Bound);
}
