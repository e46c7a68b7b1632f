namespace MusicGen.Transforms.Spectral;

/// <summary>
/// Holds the partials of generated log-magnitude frames across frames that would cut them. A take's frames are
/// rendered from tokens of whole spectra and from a predicted envelope, so a note's partials end wherever the token
/// changes, even between tokens that both hold the note. A bin that peaks in one frame (at least as high as its two
/// neighbours, and at least <see cref="Prominence"/> above the bins two away on both sides, as a partial stands out
/// from the noise around it and broadband noise does not) is carried into the next frame, lower by at most the decay,
/// wherever that frame is quieter there; a carried peak that still stands out is carried on, so a partial fades at
/// the decay's rate instead of stopping. Where the next frame is louder at the peak's bin without peaking there (a
/// stroke or a noise over a held note), the peak is carried on under it, still fading, and comes back where the frame
/// is quieter again, as a held note comes through again after a drum hit. Nothing is made quieter.
/// </summary>
public static class PartialSustain
{
    /// <summary>How far, in log-magnitude units (natural log), a peak stands above the bins two away on both sides to be held.</summary>
    public const float Prominence = 1;

    /// <summary>
    /// Holds the peaks of <paramref name="take"/> ([frames, bins] row-major, in place), each fading by at most
    /// <paramref name="decay"/> log-magnitude units a frame (0: nothing is held).
    /// </summary>
    public static void Apply(Span<float> take, int bins, double decay)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(decay);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 5);
        if (decay == 0) return;
        var held = new float[bins];
        Array.Fill(held, float.NegativeInfinity);
        for (int t = 0; t + bins <= take.Length; t += bins)
        {
            var frame = take.Slice(t, bins);
            for (int b = 0; b < bins; b++) frame[b] = Math.Max(frame[b], (float)(held[b] - decay));
            for (int b = 0; b < bins; b++)
            {
                float carried = (float)(held[b] - decay);
                held[b] = IsPeak(frame, b) ? frame[b]
                    : frame[b] > carried && carried > float.NegativeInfinity ? carried // a louder sound over the partial: it goes on under it
                    : float.NegativeInfinity;
            }
        }
    }

    /// <summary>Whether bin <paramref name="b"/> is at least as high as its neighbours and <see cref="Prominence"/> above the bins two away.</summary>
    private static bool IsPeak(ReadOnlySpan<float> frame, int b) =>
        b >= 2 && b < frame.Length - 2 && frame[b] >= frame[b - 1] && frame[b] >= frame[b + 1]
        && frame[b] - Math.Max(frame[b - 2], frame[b + 2]) >= Prominence;
}
