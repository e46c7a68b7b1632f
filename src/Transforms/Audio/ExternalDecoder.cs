using System.ComponentModel;
using System.Diagnostics;

namespace MusicGen.Transforms.Audio;

/// <summary>
/// Decodes compressed audio by running a decoder as a child process that streams a float WAV to our
/// <see cref="WavReader"/> through a pipe (no temporary files). Its exit status and error output are checked: ffmpeg
/// can "succeed" on junk.
/// </summary>
internal static class ExternalDecoder
{
    /// <summary>ffmpeg: the first audio stream, as 32-bit float WAV, original rate and channels.</summary>
    /// <param name="path">The file.</param>
    /// <param name="start">Seconds to skip (ffmpeg seeks, then decodes from there).</param>
    /// <param name="length">Seconds to decode at most; null: to the end.</param>
    public static AudioClip Ffmpeg(string path, double start = 0, double? length = null) =>
        Clip("ffmpeg", FfmpegArguments(path, start, length), path, "apt-get install ffmpeg", start);

    /// <summary>ffmpeg's output streamed in blocks (see <see cref="WavReader.ReadBlocks"/>): memory does not grow with the file.</summary>
    public static AudioStreamInfo FfmpegBlocks(string path, Action<float[][], int, int> onBlock) =>
        Blocks("ffmpeg", FfmpegArguments(path, 0, null), path, "apt-get install ffmpeg", onBlock);

    /// <summary>sox's output streamed in blocks.</summary>
    public static AudioStreamInfo SoxBlocks(string path, Action<float[][], int, int> onBlock) =>
        Blocks("sox", SoxArguments(path, 0, null), path, "apt-get install sox libsox-fmt-all", onBlock);

    private static string[] FfmpegArguments(string path, double start, double? length) =>
        ["-nostdin", "-hide_banner", "-v", "error", .. Range("-ss", start, "-t", length), "-i", path, "-map", "0:a:0", "-vn", "-f", "wav", "-c:a", "pcm_f32le", "-"];

    private static string[] SoxArguments(string path, double start, double? length) =>
        ["-V1", path, "-t", "wav", "-e", "floating-point", "-b", "32", "-",
            .. start > 0 || length is not null ? ["trim", start.ToString("R", System.Globalization.CultureInfo.InvariantCulture), .. length is { } l ? [l.ToString("R", System.Globalization.CultureInfo.InvariantCulture)] : Array.Empty<string>()] : Array.Empty<string>()];

    private static IEnumerable<string> Range(string startFlag, double start, string lengthFlag, double? length)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (start > 0) yield return startFlag;
        if (start > 0) yield return start.ToString("R", inv);
        if (length is { } l) yield return lengthFlag;
        if (length is { } m) yield return m.ToString("R", inv);
    }

    /// <summary>sox (libvorbis-based): some Ogg Vorbis files that Debian 12's ffmpeg rejects decode with it.</summary>
    public static AudioClip Sox(string path, double start = 0, double? length = null) =>
        Clip("sox", SoxArguments(path, start, length), path, "apt-get install sox libsox-fmt-all", start);

    private const string PastEndKey = "MusicGen.PastEnd";

    private static InvalidDataException PastEnd(InvalidDataException e)
    {
        e.Data[PastEndKey] = true;
        return e;
    }

    /// <summary>Whether <paramref name="e"/> says an excerpt starts after the end of its file (not damage: a shorter file).</summary>
    public static bool IsPastEnd(Exception e) => e.Data.Contains(PastEndKey);

    /// <summary>The first audio stream's codec name as ffprobe reports it (for example "aac", "alac", "opus"), or null.</summary>
    public static string? Codec(string path)
    {
        if (!IsInstalled("ffprobe")) return null;
        var start = new ProcessStartInfo("ffprobe") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0", path })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start);
        if (process is null) return null;
        var errors = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        _ = errors.Result;
        return process.ExitCode == 0 && output.Length > 0 ? output.Split('\n')[0].Trim() : null;
    }

    public static bool IsInstalled(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, tool)));

    private static AudioClip Clip(string tool, string[] arguments, string path, string install, double offset)
    {
        AudioClip? clip = null;
        var info = Run(tool, arguments, path, install, offset, stream =>
        {
            clip = WavReader.Read(stream, Path.GetFileName(path));
            return new AudioStreamInfo(clip.SampleRate, clip.ChannelCount, clip.Length, clip.Encoding, clip.Warning);
        });
        return new AudioClip(clip!.SampleRate, clip.Channels, info.Warning) { Encoding = info.Encoding };
    }

    private static AudioStreamInfo Blocks(string tool, string[] arguments, string path, string install, Action<float[][], int, int> onBlock) =>
        Run(tool, arguments, path, install, 0, stream => WavReader.ReadBlocks(stream, Path.GetFileName(path), onBlock));

    /// <summary>Runs the decoder, reads its WAV output with <paramref name="read"/>, and checks how it ended.</summary>
    private static AudioStreamInfo Run(string tool, string[] arguments, string path, string install, double offset, Func<Stream, AudioStreamInfo> read)
    {
        string name = Path.GetFileName(path);
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidDataException($"{name}: could not start {tool}");
        }
        catch (Win32Exception)
        {
            throw new InvalidDataException($"{name}: decoding this format needs {tool}, which is not installed (install it with: {install})");
        }
        using (process)
        {
            process.StandardInput.Close();
            var errors = process.StandardError.ReadToEndAsync();
            AudioStreamInfo? info = null;
            InvalidDataException? parseError = null;
            try
            {
                info = read(process.StandardOutput.BaseStream);
            }
            catch (InvalidDataException e)
            {
                parseError = e;
            }
            process.StandardOutput.BaseStream.CopyTo(Stream.Null); // let the decoder finish writing
            process.WaitForExit();
            string stderr = errors.Result.Trim();
            string lastError = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? "";
            lastError = StripPrefix(lastError, path);
            if (process.ExitCode != 0)
                throw new InvalidDataException($"{name}: {tool} cannot decode it ({(lastError.Length > 0 ? lastError : $"exit code {process.ExitCode}")})");
            if (parseError is not null || info is null)
                throw new InvalidDataException($"{name}: {tool} gave no audio ({lastError})".Replace(" ()", ""), parseError);
            if (info.Frames == 0)
                throw offset > 0 ? PastEnd(new InvalidDataException($"{name}: no audio after {offset} s (the file is shorter)")) : new InvalidDataException($"{name}: no audio in the file");
            string? warning = lastError.Length > 0 ? $"{name}: {tool} reported: {lastError}" : null;
            return info with { Encoding = $"decoded by {tool}", Warning = warning };
        }
    }

    /// <summary>Removes "[mp3 @ 0x...] " and the file path that ffmpeg puts before its messages.</summary>
    private static string StripPrefix(string line, string path)
    {
        if (line.StartsWith('[') && line.IndexOf("] ", StringComparison.Ordinal) is int close and > 0) line = line[(close + 2)..];
        if (line.StartsWith(path + ": ", StringComparison.Ordinal)) line = line[(path.Length + 2)..];
        return line;
    }
}
