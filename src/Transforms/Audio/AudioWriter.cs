using System.ComponentModel;
using System.Diagnostics;
using MusicGen.Transforms.IO;

namespace MusicGen.Transforms.Audio;

/// <summary>
/// Writes audio in the format its file name asks for: <c>.wav</c> natively, <c>.flac</c>, <c>.mp3</c> and <c>.ogg</c>
/// through ffmpeg (a WAV piped to its input); any other extension is refused before anything is written. Each file
/// is written to a temporary file beside it, then renamed.
/// </summary>
public static class AudioWriter
{
    /// <summary>The extensions written, and ffmpeg's encoder for the compressed ones.</summary>
    public static IReadOnlyDictionary<string, string?> Formats { get; } = new Dictionary<string, string?>
    {
        [".wav"] = null,
        [".flac"] = "flac",
        [".mp3"] = "libmp3lame",
        [".ogg"] = "libvorbis",
    };

    /// <summary>Throws when <paramref name="path"/>'s extension is not one this writes.</summary>
    /// <exception cref="ArgumentException">The extension is unknown; the message lists the known ones.</exception>
    public static void CheckFormat(string path)
    {
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (!Formats.ContainsKey(extension))
            throw new ArgumentException($"{path}: unknown output format '{extension}' (write .wav, .flac, .mp3 or .ogg)");
    }

    /// <summary>Writes <paramref name="clip"/> to <paramref name="path"/> in the format its extension names (WAV samples as <paramref name="format"/> says).</summary>
    /// <exception cref="ArgumentException">The extension is unknown.</exception>
    /// <exception cref="IOException">ffmpeg is missing or failed; the message says which and how to install it.</exception>
    public static void Write(string path, AudioClip clip, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        CheckFormat(path);
        if (Formats[Path.GetExtension(path).ToLowerInvariant()] is not { } encoder)
        {
            WavWriter.Write(path, clip, format);
            return;
        }
        AtomicFile.Write(path, tmp => Encode(tmp, clip, encoder, Path.GetExtension(path).TrimStart('.').ToLowerInvariant(), Path.GetFileName(path)));
    }

    private static void Encode(string output, AudioClip clip, string encoder, string container, string name)
    {
        var start = new ProcessStartInfo("ffmpeg")
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-nostdin", "-hide_banner", "-v", "error", "-y", "-f", "wav", "-i", "pipe:0", "-c:a", encoder, "-f", container, output })
            start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new IOException($"{name}: could not start ffmpeg");
        }
        catch (Win32Exception)
        {
            throw new IOException($"{name}: writing this format needs ffmpeg, which is not installed (install it with: apt-get install ffmpeg), or write a .wav");
        }
        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            var output2 = process.StandardOutput.ReadToEndAsync();
            try
            {
                WavWriter.Write(process.StandardInput.BaseStream, clip, WavSampleFormat.Float32);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // ffmpeg stopped reading; its own error says why.
            }
            process.WaitForExit();
            _ = output2.Result;
            if (process.ExitCode != 0)
                throw new IOException($"{name}: ffmpeg could not encode it ({errors.Result.Trim().Split('\n').LastOrDefault()?.Trim()})");
        }
    }
}
