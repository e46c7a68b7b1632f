using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

/// <summary>Audio the tests make themselves: short note sequences with a few partials, and temporary folders.</summary>
internal static class TestAudio
{
    /// <summary>A melody of 0.25 s notes (C major arpeggio, two partials, a decay per note), one phase offset per channel.</summary>
    public static AudioClip Melody(int sampleRate, double seconds, int channels, int variant = 0)
    {
        int n = (int)(sampleRate * seconds);
        double[] notes = [261.63, 329.63, 392.0, 523.25, 440.0, 349.23];
        var data = new float[channels][];
        for (int c = 0; c < channels; c++)
        {
            data[c] = new float[n];
            for (int i = 0; i < n; i++)
            {
                double t = (double)i / sampleRate;
                int note = (int)(t / 0.25);
                double f = notes[(note + variant) % notes.Length];
                double local = t - note * 0.25;
                double env = Math.Exp(-6 * local);
                data[c][i] = (float)(env * (0.4 * Math.Sin(2 * Math.PI * f * t + c) + 0.15 * Math.Sin(4 * Math.PI * f * t)));
            }
        }
        return new AudioClip(sampleRate, data);
    }

    /// <summary>Runs ffmpeg with <paramref name="args"/> (quiet, overwriting) and checks that it succeeded.</summary>
    public static void Ffmpeg(params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-nostdin", "-hide_banner", "-v", "error", "-y" }.Concat(args)) start.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(start)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }

    /// <summary>Writes a folder of <paramref name="count"/> melody files and returns it.</summary>
    public static string MelodyFolder(TempFolder folder, int count = 2, int sampleRate = 8000, double seconds = 2, int channels = 1)
    {
        string dir = folder.Sub("songs");
        for (int i = 0; i < count; i++)
            WavWriter.Write(Path.Combine(dir, $"song{i}.wav"), Melody(sampleRate, seconds, channels, variant: i));
        return dir;
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "musicgen-tests-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Sub(string name) => Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
