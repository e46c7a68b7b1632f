using MusicGen.Transforms.IO;

namespace MusicGen.Transforms.Audio;

/// <summary>The containers <see cref="AudioFile"/> recognises by their first bytes.</summary>
public enum AudioContainer
{
    /// <summary>Not a recognised audio file.</summary>
    Unknown,
    /// <summary>RIFF/WAVE, read natively.</summary>
    Wav,
    /// <summary>MPEG audio (MP3), with or without an ID3 tag.</summary>
    Mp3,
    /// <summary>MP4/M4A (AAC or ALAC).</summary>
    Mp4,
    /// <summary>Ogg (Vorbis or Opus).</summary>
    Ogg,
    /// <summary>FLAC.</summary>
    Flac,
}

/// <summary>Opens audio files by their content, not their extension.</summary>
public static class AudioFile
{
    /// <summary>Extensions that folder scans pick up.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".wav", ".wave", ".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".flac"];

    /// <summary>Recognises a container from the first bytes of a file (at least 12 are needed for all).</summary>
    public static AudioContainer Detect(ReadOnlySpan<byte> head)
    {
        if (WavReader.LooksLikeWav(head)) return AudioContainer.Wav;
        if (head.StartsWith("ID3"u8)) return AudioContainer.Mp3;
        if (head.StartsWith("OggS"u8)) return AudioContainer.Ogg;
        if (head.StartsWith("fLaC"u8)) return AudioContainer.Flac;
        if (head.Length >= 8 && head[4..8].SequenceEqual("ftyp"u8)) return AudioContainer.Mp4;
        // MPEG audio frame sync: 11 set bits, a valid version and layer III/II, a valid bitrate and sample rate index.
        if (head.Length >= 4 && head[0] == 0xFF && (head[1] & 0xE0) == 0xE0 && (head[1] & 0x18) != 0x08
            && (head[1] & 0x06) is 0x02 or 0x04 && (head[2] & 0xF0) != 0xF0 && (head[2] & 0x0C) != 0x0C)
            return AudioContainer.Mp3;
        return AudioContainer.Unknown;
    }

    /// <summary>Recognises the container of a file from its first bytes.</summary>
    public static AudioContainer Detect(string path)
    {
        Span<byte> head = stackalloc byte[16];
        using var s = File.OpenRead(path);
        return Detect(head[..s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)]);
    }

    /// <summary>Called before every decode with the path, start and length (tests count decodes with it).</summary>
    internal static Action<string, double, double?>? Decoding { get; set; }

    /// <summary>Decodes <paramref name="path"/>: WAV natively, MP3/M4A/Ogg/FLAC through ffmpeg (sox as a fallback for Ogg).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be decoded; the message names the file and the cause.</exception>
    public static AudioClip Read(string path) => Read(path, 0, null);

    /// <summary>
    /// Decodes the part of an audio file from <paramref name="start"/> seconds, <paramref name="length"/> seconds long
    /// (null: to the end): compressed files are decoded from there only, which is much faster for a short excerpt.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be decoded; the message names the file and the cause.</exception>
    public static AudioClip Read(string path, double start, double? length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (length is < 0) throw new ArgumentOutOfRangeException(nameof(length), "The length must not be negative.");
        var container = Open(path, start, length);
        var clip = container switch
        {
            AudioContainer.Wav => length is { } l ? WavExcerpt(path, start, l) : Slice(WavReader.Read(path), start, length),
            AudioContainer.Ogg => WithSoxFallback(() => ExternalDecoder.Ffmpeg(path, start, length), () => ExternalDecoder.Sox(path, start, length)),
            _ => ExternalDecoder.Ffmpeg(path, start, length),
        };
        long bad = 0;
        foreach (var channel in clip.Channels) bad += NonFinite(channel);
        RefuseNonFinite(path, bad);
        return clip;
    }

    /// <summary>
    /// Decodes <paramref name="path"/> block by block (see <see cref="WavReader.ReadBlocks"/>), so that memory does not
    /// grow with the file's length: <paramref name="onBlock"/> gets planar samples, how many frames they hold and the
    /// sample rate.
    /// <paramref name="restart"/> is called before a second decoder starts over (an Ogg file that ffmpeg rejects
    /// midway, decoded again with sox).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be decoded, or holds NaN or infinite samples.</exception>
    public static AudioStreamInfo ReadBlocks(string path, Action<float[][], int, int> onBlock, Action? restart = null)
    {
        ArgumentNullException.ThrowIfNull(onBlock);
        var container = Open(path, 0, null);
        long bad = 0;
        void Checked(float[][] block, int frames, int rate)
        {
            foreach (var channel in block) bad += NonFinite(channel.AsSpan(0, frames));
            onBlock(block, frames, rate);
        }
        AudioStreamInfo FromWav()
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return WavReader.ReadBlocks(stream, Path.GetFileName(path), Checked);
        }
        var info = container switch
        {
            AudioContainer.Wav => FromWav(),
            AudioContainer.Ogg => WithSoxFallback(() => ExternalDecoder.FfmpegBlocks(path, Checked), () =>
            {
                restart?.Invoke();
                bad = 0;
                return ExternalDecoder.SoxBlocks(path, Checked);
            }),
            _ => ExternalDecoder.FfmpegBlocks(path, Checked),
        };
        RefuseNonFinite(path, bad);
        return info;
    }

    /// <summary>Checks that the file exists, is not empty and holds a recognised container, and returns which one.</summary>
    private static AudioContainer Open(string path, double start, double? length)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        Decoding?.Invoke(path, start, length);
        string name = Path.GetFileName(path);
        Span<byte> head = stackalloc byte[16];
        int n;
        using (var s = File.OpenRead(path)) n = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n == 0) throw new InvalidDataException($"{name}: file is empty");
        var container = Detect(head[..n]);
        if (container == AudioContainer.Unknown) throw new InvalidDataException($"{name}: not a recognised audio file ({Describe(head[..n])})");
        return container;
    }

    /// <summary>Ogg files that Debian 12's ffmpeg rejects decode with sox when it is installed; if sox fails too, ffmpeg's error stands.</summary>
    private static T WithSoxFallback<T>(Func<T> ffmpeg, Func<T> sox)
    {
        try
        {
            return ffmpeg();
        }
        catch (InvalidDataException first) when (ExternalDecoder.IsInstalled("sox"))
        {
            try
            {
                return sox();
            }
            catch (InvalidDataException)
            {
                throw first;
            }
        }
    }

    private static long NonFinite(ReadOnlySpan<float> samples)
    {
        long bad = 0;
        foreach (var v in samples)
            if (!float.IsFinite(v)) bad++;
        return bad;
    }

    private static void RefuseNonFinite(string path, long bad)
    {
        if (bad > 0)
            throw new InvalidDataException($"{Path.GetFileName(path)}: {bad} sample(s) are NaN or infinite (a damaged float WAV?); refusing to use it");
    }

    /// <summary>
    /// <paramref name="length"/> seconds of a WAV file from <paramref name="start"/>, read block by block: memory follows
    /// the excerpt, not the file (a training segment of a 3-hour file), and reading stops after the excerpt.
    /// </summary>
    private static AudioClip WavExcerpt(string path, double start, double length)
    {
        float[][]? channels = null;
        long from = 0, count = 0, position = 0, filled = 0;
        string? warning = null, encoding = null;
        int rate = 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var info = WavReader.ReadBlocks(stream, Path.GetFileName(path), (block, frames, sampleRate) =>
            {
                if (channels is null)
                {
                    rate = sampleRate;
                    from = (long)Math.Round(start * rate);
                    count = (long)Math.Round(length * rate);
                    channels = block.Select(_ => new float[Math.Min(count, Array.MaxLength)]).ToArray();
                }
                long first = Math.Max(from, position), last = Math.Min(from + count, position + frames);
                for (long t = first; t < last; t++, filled++)
                    for (int c = 0; c < channels.Length; c++) channels[c][filled] = block[c][t - position];
                position += frames;
                if (position >= from + count) throw new ExcerptRead();
            });
            warning = info.Warning;
            encoding = info.Encoding;
        }
        catch (ExcerptRead)
        {
            // The excerpt is whole; the rest of the file is not read.
        }
        if (channels is null) return Slice(WavReader.Read(path), start, length); // no samples at all: the whole-file path says why
        return new AudioClip(rate, channels.Select(c => c.AsSpan(0, (int)filled).ToArray()).ToArray(), warning) { Encoding = encoding };
    }

    private sealed class ExcerptRead : Exception;

    private static AudioClip Slice(AudioClip clip, double start, double? length)
    {
        if (start == 0 && length is null) return clip;
        int from = (int)Math.Min(clip.Length, Math.Round(start * clip.SampleRate));
        int count = length is { } l ? (int)Math.Min(clip.Length - from, Math.Round(l * clip.SampleRate)) : clip.Length - from;
        return new AudioClip(clip.SampleRate, clip.Channels.Select(c => c.AsSpan(from, count).ToArray()).ToArray(), clip.Warning) { Encoding = clip.Encoding };
    }

    private static string Describe(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])) return "a PNG image";
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return "a JPEG image";
        if (head.StartsWith((ReadOnlySpan<byte>)[0x7F, (byte)'E', (byte)'L', (byte)'F'])) return "an executable";
        if (head.StartsWith("RIFF"u8)) return "a RIFF file that is not WAVE";
        if (head.StartsWith("%PDF"u8)) return "a PDF document";
        bool text = true;
        foreach (byte b in head) text &= b is >= 0x20 and < 0x7F or (byte)'\n' or (byte)'\r' or (byte)'\t';
        return text ? "it looks like text" : "unknown content; WAV, MP3, M4A, Ogg and FLAC are supported";
    }

    /// <summary>
    /// Expands files and folders (recursively, audio extensions only, each folder's files sorted) into a list of files,
    /// each file once however many paths lead to it (a file named twice, or reached again through a link, keeps its
    /// first place), and each folder visited once (a symbolic link that loops back is not followed again).
    /// </summary>
    /// <exception cref="FileNotFoundException">A named path does not exist.</exception>
    public static IReadOnlyList<string> Expand(IEnumerable<string> paths)
    {
        var result = new List<string>();
        var files = new HashSet<FileIdentity>();
        var folders = new HashSet<FileIdentity>();
        void Add(string file)
        {
            if (FileIdentity.Of(file) is { } id && files.Add(id)) result.Add(file);
        }
        void Walk(string folder, List<string> found)
        {
            if (FileIdentity.Of(folder) is not { } id || !folders.Add(id)) return;
            found.AddRange(Directory.EnumerateFiles(folder).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())));
            foreach (var sub in Directory.EnumerateDirectories(folder)) Walk(sub, found);
        }
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
            {
                var found = new List<string>();
                Walk(p, found);
                foreach (var file in found.Order(StringComparer.Ordinal)) Add(file);
            }
            else if (File.Exists(p)) Add(p);
            else throw new FileNotFoundException($"{p}: no such file or folder", p);
        }
        return result;
    }
}
