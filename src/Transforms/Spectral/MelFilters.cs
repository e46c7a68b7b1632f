namespace MusicGen.Transforms.Spectral;

/// <summary>Mel filter banks.</summary>
public static class MelFilters
{
    /// <summary>Hz to mel, HTK formula: 2595 log10(1 + f / 700).</summary>
    public static double HzToMel(double hz) => 2595 * Math.Log10(1 + hz / 700);

    /// <summary>Mel to Hz, HTK formula.</summary>
    public static double MelToHz(double mel) => 700 * (Math.Pow(10, mel / 2595) - 1);

    /// <summary>
    /// Triangular filters [bands, N/2+1], row-major, with centres evenly spaced on the HTK mel scale from 0 Hz to Nyquist,
    /// each peaking at 1 (no area normalisation), as librosa/torchaudio do with htk=True, norm=None.
    /// </summary>
    public static float[] Triangular(int bands, int frameSize, int sampleRate, double minHz = 0, double? maxHz = null)
    {
        double top = maxHz ?? sampleRate / 2.0;
        double lowMel = HzToMel(minHz), highMel = HzToMel(top);
        return FromEdges(Enumerable.Range(0, bands + 2).Select(i => MelToHz(lowMel + (highMel - lowMel) * i / (bands + 1))).ToArray(),
            frameSize, sampleRate);
    }

    /// <summary>
    /// Triangular filters [bands, N/2+1] from 0 Hz to Nyquist whose centres are never closer than one bin: one filter
    /// per bin from 0 Hz up to where evenly spaced mel centres grow wider than a bin, and evenly spaced on the mel
    /// scale above. A mel filter narrower than a bin adds nothing the bin's own does not hold (at 22050 Hz and
    /// 2048-sample frames, 768 plain mel filters leave the lowest 60 between bins and put two per bin up to 2.3 kHz);
    /// here those filters go to the high bands instead (768: one per bin up to 4 kHz, about two bins wide at 8 kHz
    /// instead of three). A filter one bin from each neighbour weighs its own bin 1 and no other. Where
    /// <paramref name="bands"/> is too many for that (more than N/2 - 1), the plain mel layout.
    /// </summary>
    public static float[] BinFloored(int bands, int frameSize, int sampleRate)
    {
        double bin = (double)sampleRate / frameSize, nyquist = sampleRate / 2.0;
        // k edges one bin apart from 0 Hz, then bands + 1 - k mel steps to Nyquist; the fewest k whose first mel step
        // is at least a bin wide (mel steps widen with frequency, so every later one is too).
        double[] Edges(int k)
        {
            double from = k * bin, step = (HzToMel(nyquist) - HzToMel(from)) / (bands + 1 - k);
            return [.. Enumerable.Range(0, k).Select(i => i * bin),
                .. Enumerable.Range(0, bands + 2 - k).Select(i => i == bands + 1 - k ? nyquist : MelToHz(HzToMel(from) + step * i))];
        }
        bool Floored(int k) => k * bin < nyquist && Edges(k)[k + 1] - k * bin >= bin;
        int fewest = Enumerable.Range(0, bands + 1).FirstOrDefault(Floored, -1);
        return fewest < 0 ? Triangular(bands, frameSize, sampleRate) : FromEdges(Edges(fewest), frameSize, sampleRate);
    }

    private static float[] FromEdges(double[] edges, int frameSize, int sampleRate)
    {
        int bins = frameSize / 2 + 1, bands = edges.Length - 2;
        var bank = new float[bands * bins];
        for (int m = 0; m < bands; m++)
        {
            double left = edges[m], centre = edges[m + 1], right = edges[m + 2];
            for (int k = 0; k < bins; k++)
            {
                double f = (double)k * sampleRate / frameSize;
                double up = (f - left) / (centre - left), down = (right - f) / (right - centre);
                bank[m * bins + k] = (float)Math.Max(0, Math.Min(up, down));
            }
        }
        return bank;
    }
}
