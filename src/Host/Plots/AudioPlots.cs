using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.IO;

namespace MusicGen.Host;

/// <summary>Pictures of audio a person would rather look at than read: a waveform and a spectrogram, as PNG.</summary>
internal static class AudioPlots
{
    /// <summary>
    /// Writes <c>NAME.waveform.png</c> (min/max envelope of the mono mix) and <c>NAME.spectrogram.png</c> (log magnitude,
    /// STFT 1024 / hop 256, Hann) into <paramref name="folder"/>; returns the two paths.
    /// </summary>
    public static (string Waveform, string Spectrogram) Save(AudioClip clip, string folder, string name)
    {
        ArgumentNullException.ThrowIfNull(clip);
        Directory.CreateDirectory(folder);
        var mono = clip.WithChannels(1).Channels[0];
        string wavePath = Path.Combine(folder, name + ".waveform.png");
        string spectrogramPath = Path.Combine(folder, name + ".spectrogram.png");

        const int Columns = 1200;
        int per = Math.Max(1, mono.Length / Columns);
        int points = Math.Max(1, mono.Length / per);
        var xs = new double[2 * points];
        var ys = new double[2 * points];
        for (int p = 0; p < points; p++)
        {
            float lo = 0, hi = 0;
            for (int i = p * per; i < Math.Min(mono.Length, (p + 1) * per); i++)
            {
                lo = Math.Min(lo, mono[i]);
                hi = Math.Max(hi, mono[i]);
            }
            double t = (double)p * per / clip.SampleRate;
            xs[2 * p] = xs[2 * p + 1] = t;
            ys[2 * p] = lo;
            ys[2 * p + 1] = hi;
        }
        var wave = new ScottPlot.Plot();
        wave.Add.ScatterLine(xs, ys);
        wave.Title(name);
        wave.XLabel("seconds");
        wave.YLabel("amplitude");
        wave.Axes.SetLimitsY(-1.05, 1.05);
        Save(wave, wavePath, 1200, 300);

        using var transform = new SpectralTransform(new SpectralSettings(Representation.LogMagnitude, 1024, 256, WindowKind.Hann, 2f / 1024), clip.SampleRate);
        var features = mono.Length >= 1024 ? transform.Direct([mono]) : [];
        int bins = transform.FeatureSize(1), frames = features.Length / bins;
        var image = new double[bins, Math.Max(frames, 1)];
        for (int f = 0; f < frames; f++)
            for (int b = 0; b < bins; b++)
                image[bins - 1 - b, f] = Math.Max(-12, features[f * bins + b]); // low frequencies at the bottom
        var spectrogram = new ScottPlot.Plot();
        var heatmap = spectrogram.Add.Heatmap(image);
        heatmap.Colormap = new ScottPlot.Colormaps.Inferno();
        heatmap.Extent = new ScottPlot.CoordinateRect(0, clip.Seconds, 0, clip.SampleRate / 2.0);
        spectrogram.Title(name);
        spectrogram.XLabel("seconds");
        spectrogram.YLabel("Hz");
        Save(spectrogram, spectrogramPath, 1200, 400);
        return (wavePath, spectrogramPath);
    }

    private static void Save(ScottPlot.Plot plot, string path, int width, int height) =>
        AtomicFile.Write(path, tmp => plot.SavePng(tmp, width, height));
}
