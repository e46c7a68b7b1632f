namespace MusicGen.Transforms.Audio;

/// <summary>Opens audio files by their content, not their extension.</summary>
public static class AudioFile
{
    /// <summary>Extensions that folder scans pick up.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".wav", ".wave", ".mp3", ".m4a", ".ogg", ".oga", ".opus", ".flac"];

    /// <summary>Decodes <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be decoded; the message names the file and the cause.</exception>
    public static AudioClip Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        Span<byte> head = stackalloc byte[12];
        int n;
        using (var s = File.OpenRead(path)) n = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n == 0) throw new InvalidDataException($"{Path.GetFileName(path)}: file is empty");
        if (WavReader.LooksLikeWav(head[..n])) return WavReader.Read(path);
        throw new InvalidDataException($"{Path.GetFileName(path)}: not a WAV file (only WAV is supported so far)");
    }

    /// <summary>Expands files and folders (recursively, audio extensions only, sorted) into a list of files.</summary>
    /// <exception cref="FileNotFoundException">A named path does not exist.</exception>
    public static IReadOnlyList<string> Expand(IEnumerable<string> paths)
    {
        var result = new List<string>();
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
            {
                result.AddRange(Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories)
                    .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .Order(StringComparer.Ordinal));
            }
            else if (File.Exists(p)) result.Add(p);
            else throw new FileNotFoundException($"{p}: no such file or folder", p);
        }
        return result;
    }
}
