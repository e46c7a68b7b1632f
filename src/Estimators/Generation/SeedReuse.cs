namespace MusicGen;

/// <summary>
/// Steers each take's share of the primed excerpt's own tokens toward the share with which the excerpt itself goes back
/// to sounds it has already played (<see cref="GenerationOptions.SeedReuse"/>). Real continuations of a seed keep
/// playing the seed's sounds; takes sampled from a network trained on other music drift away from them, and once they
/// have drifted, their recent-token memories hold the new sounds and the drift feeds itself. Each take has one logit
/// offset for all the tokens the excerpt does not play; after every draw it moves by the rate times (1 if the draw was
/// one of the excerpt's tokens, else 0, less the target share), so that over the take the share settles at the target.
/// </summary>
internal sealed class SeedReuse
{
    /// <summary>The offset is kept within this many logits either way.</summary>
    public const double Bound = 10;

    /// <summary>A primed excerpt shorter than this many tokens has no reuse share to keep.</summary>
    public const int ShortestPrime = 32;

    private readonly bool[] played;
    private readonly double[] offsets;
    private readonly double rate;

    private SeedReuse(bool[] played, double target, double rate, int takes)
    {
        this.played = played;
        Target = target;
        this.rate = rate;
        offsets = new double[takes];
    }

    /// <summary>The share of its tokens the takes are steered to draw from the excerpt's (<see cref="ReuseShare"/>).</summary>
    public double Target { get; }

    /// <summary>A steering for <paramref name="takes"/> takes of <paramref name="prime"/>; null when the rate is 0 or the excerpt is too short.</summary>
    public static SeedReuse? For(int[] prime, int tokenCount, int takes, double rate)
    {
        if (rate == 0 || prime.Length < ShortestPrime) return null;
        var played = new bool[tokenCount];
        foreach (int token in prime) played[token] = true;
        return new SeedReuse(played, ReuseShare(prime), rate, takes);
    }

    /// <summary>
    /// How often the excerpt's second half plays a token it had already played before: the share of its tokens from the
    /// middle on that came earlier in it.
    /// </summary>
    public static double ReuseShare(int[] prime)
    {
        var seen = new HashSet<int>();
        int half = prime.Length / 2, reused = 0;
        for (int t = 0; t < prime.Length; t++)
        {
            if (t >= half && seen.Contains(prime[t])) reused++;
            seen.Add(prime[t]);
        }
        return prime.Length - half == 0 ? 0 : (double)reused / (prime.Length - half);
    }

    /// <summary>The current offset of take <paramref name="take"/>, for tokens the excerpt does not play.</summary>
    public double Offset(int take) => offsets[take];

    /// <summary>Adds take <paramref name="take"/>'s offset to the logits of the tokens the excerpt does not play.</summary>
    public void Steer(Span<float> logits, int take)
    {
        float offset = (float)offsets[take];
        if (offset == 0) return;
        for (int v = 0; v < logits.Length; v++) if (!played[v]) logits[v] += offset;
    }

    /// <summary>Moves take <paramref name="take"/>'s offset after it drew <paramref name="token"/>.</summary>
    public void Drawn(int take, int token) =>
        offsets[take] = Math.Clamp(offsets[take] + rate * ((played[token] ? 1 : 0) - Target), -Bound, Bound);
}
