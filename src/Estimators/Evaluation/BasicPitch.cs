using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using MusicGen.Transforms.Audio;

namespace MusicGen.Evaluation;

/// <summary>
/// Frame embeddings of Basic Pitch, Spotify's note-transcription network (weights shipped in the npm package
/// @spotify/basic-pitch 1.0.1), run by Node.js with <c>tools/basic-pitch/embed.js</c>: one 128-value embedding per
/// 256 samples at 22050 Hz (11.6 ms), the mean and the maximum over pitch of its two hidden layers. A network trained
/// on music hears what log-mel statistics miss (noise between notes, a lost melody): measures 8 and 9 of
/// docs/quality.md compare sets of these embeddings.
/// </summary>
public sealed class BasicPitch
{
    /// <summary>Values per embedding.</summary>
    public const int EmbeddingSize = 128;

    /// <summary>Embedding frames per second (22050 / 256).</summary>
    public const double FramesPerSecond = QualityMetrics.SampleRate / 256.0;

    /// <summary>embed.js writes posteriorgrams (440 values) then the hidden-layer pooling (128) for every frame.</summary>
    private const int HiddenOffset = 440, Written = 568;

    /// <summary>What to run <c>npm ci</c> in to install the tool.</summary>
    public const string InstallHint = "install Node.js and run: npm ci --prefix tools/basic-pitch, or set MUSICGEN_BASIC_PITCH to a folder with embed.js and its node_modules";

    private readonly string script;

    private BasicPitch(string script) => this.script = script;

    /// <summary>
    /// The tool, when Node.js is on the PATH and <c>embed.js</c> with its packages is found: in the folder named by
    /// MUSICGEN_BASIC_PITCH, else in <c>tools/basic-pitch</c> above the program or the current folder. Null otherwise,
    /// with <paramref name="reason"/> saying what is missing and how to install it.
    /// </summary>
    public static BasicPitch? Find(out string reason)
    {
        if (!ExternalDecoder.IsInstalled("node"))
        {
            reason = $"Node.js is not installed ({InstallHint})";
            return null;
        }
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("MUSICGEN_BASIC_PITCH") is { Length: > 0 } given) candidates.Add(given);
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                candidates.Add(Path.Combine(dir.FullName, "tools", "basic-pitch"));
        foreach (var folder in candidates)
        {
            if (File.Exists(Path.Combine(folder, "embed.js")) && Directory.Exists(Path.Combine(folder, "node_modules", "@spotify", "basic-pitch")))
            {
                reason = "";
                return new BasicPitch(Path.Combine(folder, "embed.js"));
            }
        }
        reason = $"the Basic Pitch tool is not installed ({InstallHint})";
        return null;
    }

    /// <summary>The embeddings [frames][128] of each clip (mixed to mono and resampled to 22050 Hz first).</summary>
    /// <exception cref="InvalidOperationException">Node.js failed; the message carries the end of its error output.</exception>
    public IReadOnlyList<float[][]> Embed(IReadOnlyList<AudioClip> clips)
    {
        ArgumentNullException.ThrowIfNull(clips);
        string folder = Directory.CreateTempSubdirectory("musicgen-basic-pitch-").FullName;
        try
        {
            var inputs = new string[clips.Count];
            for (int i = 0; i < clips.Count; i++)
            {
                inputs[i] = Path.Combine(folder, $"{i}.f32");
                File.WriteAllBytes(inputs[i], MemoryMarshal.AsBytes(QualityMetrics.Prepare(clips[i]).AsSpan()).ToArray());
            }
            // TensorFlow.js runs a model on one core: one Node.js process per core, each with its share of the clips.
            int processes = Math.Clamp(Environment.ProcessorCount, 1, Math.Max(1, clips.Count));
            var shares = Enumerable.Range(0, processes).Select(p => Enumerable.Range(0, clips.Count).Where(i => i % processes == p).ToArray()).ToArray();
            var frameCounts = new int[clips.Count];
            Parallel.ForEach(shares, share => Run(share.Select(i => inputs[i]).ToArray(), share, frameCounts));
            var result = new float[clips.Count][][];
            for (int i = 0; i < clips.Count; i++)
            {
                var written = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(inputs[i] + ".emb").AsSpan());
                result[i] = new float[frameCounts[i]][];
                for (int f = 0; f < frameCounts[i]; f++) result[i][f] = written.Slice(f * Written + HiddenOffset, EmbeddingSize).ToArray();
            }
            return result;
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A temporary folder left behind is harmless.
            }
        }
    }

    private void Run(string[] inputs, int[] indices, int[] frameCounts)
    {
        if (inputs.Length == 0) return;
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        foreach (var input in inputs)
        {
            start.ArgumentList.Add(input);
            start.ArgumentList.Add(input + ".emb");
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Cannot start Node.js for the Basic Pitch embeddings.");
        var errors = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        while (process.StandardOutput.ReadLine() is { } line)
            if (line.StartsWith('{')) lines.Add(line);
        process.WaitForExit();
        string error = errors.Result.Trim();
        if (process.ExitCode != 0 || lines.Count != inputs.Length)
            throw new InvalidOperationException($"Basic Pitch embeddings failed (node exited {process.ExitCode}): {error[Math.Max(0, error.Length - 300)..]}");
        for (int i = 0; i < lines.Count; i++)
        {
            using var json = JsonDocument.Parse(lines[i]);
            if (json.RootElement.GetProperty("dim").GetInt32() != Written)
                throw new InvalidOperationException($"Basic Pitch embeddings have {json.RootElement.GetProperty("dim").GetInt32()} values per frame, expected {Written}.");
            frameCounts[indices[i]] = json.RootElement.GetProperty("frames").GetInt32();
        }
    }
}
