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
        int bins = frameSize / 2 + 1;
        double top = maxHz ?? sampleRate / 2.0;
        double lowMel = HzToMel(minHz), highMel = HzToMel(top);
        var edges = Enumerable.Range(0, bands + 2).Select(i => MelToHz(lowMel + (highMel - lowMel) * i / (bands + 1))).ToArray();
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
