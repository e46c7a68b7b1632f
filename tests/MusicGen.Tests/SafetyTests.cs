using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using MusicGen.Estimators;
using MusicGen.Transforms.Audio;
using static MusicGen.Tests.TestCli;

namespace MusicGen.Tests;

/// <summary>
/// Fault injection: commands aimed at a user's own files refuse with one line and a non-zero exit, and the files they
/// would have destroyed are byte for byte the same afterwards; damaged models and checkpoints are refused by name;
/// one training per model; SIGTERM stops at a checkpoint. (Category Safety: <c>dotnet test --filter Category=Safety</c>.)
/// </summary>
[Trait("Category", "Safety")]
public class SafetyTests
{
    /// <summary>A folder of songs and a model trained on them.</summary>
    private static (string Songs, string Model) Trained(TempFolder temp)
    {
        string songs = TestAudio.MelodyFolder(temp, count: 3);
        string model = temp.File("m.zip");
        var train = Run(["train", songs, "--model", model, .. TinyModel]);
        Assert.True(train.Code == 0, train.Err);
        return (songs, model);
    }

    /// <summary>Runs a command that must refuse: non-zero exit, one error line naming <paramref name="named"/>, every file unchanged.</summary>
    private static void Refuses(string named, string[] files, params string[] args)
    {
        var before = files.Select(File.ReadAllBytes).ToList();
        var (code, _, err) = Run(args);
        Assert.NotEqual(0, code);
        var line = Assert.Single(err.Trim().Split('\n'), l => l.StartsWith("musicgen: error: ", StringComparison.Ordinal));
        Assert.Contains(named, line);
        Assert.DoesNotContain("   at ", err);
        for (int i = 0; i < files.Length; i++) Assert.Equal(before[i], File.ReadAllBytes(files[i]));
    }

    [Fact]
    public void No_command_writes_over_a_file_it_reads()
    {
        using var temp = new TempFolder();
        var (songs, model) = Trained(temp);
        string a = Path.Combine(songs, "song0.wav"), b = Path.Combine(songs, "song1.wav");
        string[] all = [model, a, b];
        Refuses("m.zip", all, "generate", "--model", model, "--seed", a, "--out", model);
        Refuses("m.zip", all, "reconstruct", "--model", model, "--in", a, "--out", model);
        Refuses("PhaseIterations must be 0", all, "reconstruct", "--model", model, "--in", a, "--out", temp.File("r.wav"), "--phase-iterations", "-1");
        Refuses("m.zip", all, "evaluate", "--model", model, "--reference", b, "--seeds", a, "--seconds", "1", "--takes", "1", "--json", model);
        Refuses("song0.wav", all, "inspect", songs, "--csv", a);
        Refuses("song1.wav", all, "train", a, b, "--model", b);
        Refuses("song0.wav", all, "generate", "--model", model, "--seed", a, "--out", a);
        // By another path: a hard link to the seed, and a symbolic link to the model.
        string link = temp.File("link.wav");
        Assert.Equal(0, Link(a, link));
        Refuses("link.wav", all, "generate", "--model", model, "--seed", a, "--out", link);
        string modelLink = temp.File("model-link.zip");
        File.CreateSymbolicLink(modelLink, model);
        Refuses("model-link.zip", all, "reconstruct", "--model", model, "--in", a, "--out", modelLink);
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string added);

    [Fact]
    public void A_folder_is_read_once_through_links_and_a_file_named_twice_counts_once()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp, count: 2);
        Directory.CreateSymbolicLink(Path.Combine(songs, "loop"), songs);       // a link back to its own folder
        var files = AudioFile.Expand([songs, Path.Combine(songs, "song0.wav"), Path.Combine(songs, ".", "song1.wav")]);
        Assert.Equal(["song0.wav", "song1.wav"], files.Select(Path.GetFileName));
    }

    [Fact]
    public void A_float_WAV_with_NaN_or_infinite_samples_is_refused_with_a_count()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp, count: 3);
        var clip = TestAudio.Melody(8000, 2, 1);
        clip.Channels[0][100] = float.NaN;
        clip.Channels[0][200] = float.PositiveInfinity;
        string bad = Path.Combine(songs, "bad.wav");
        WavWriter.Write(bad, clip, WavSampleFormat.Float32);
        var e = Assert.Throws<InvalidDataException>(() => AudioFile.Read(bad));
        Assert.Equal("bad.wav: 2 sample(s) are NaN or infinite (a damaged float WAV?); refusing to use it", e.Message);
        var inspect = Run("inspect", songs);
        Assert.Contains("2 sample(s) are NaN or infinite", inspect.Out);
        var train = Run(["train", songs, "--model", temp.File("m.zip"), .. TinyModel]);
        Succeeded(train);
        Assert.Contains("skipping bad.wav: 2 sample(s) are NaN or infinite", train.Err);
    }

    [Fact]
    public void A_damaged_checkpoint_is_refused_and_left_as_it_was()
    {
        using var temp = new TempFolder();
        var (songs, model) = Trained(temp);
        string checkpoint = TrainingFiles.Beside(model).Checkpoint;
        var bytes = File.ReadAllBytes(checkpoint);
        bytes[bytes.Length / 2] ^= 0x10;                                      // one flipped bit
        File.WriteAllBytes(checkpoint, bytes);
        Refuses("m.ckpt: damaged checkpoint (its checksum does not match)", [checkpoint],
            ["train", songs, "--model", model, "--resume", .. TinyModel[..^1], "3"]);
    }

    [Fact]
    public void A_model_whose_zip_entries_fail_their_checksums_is_refused()
    {
        using var temp = new TempFolder();
        var (songs, model) = Trained(temp);
        // Flip a byte inside the stored data of the largest entry, leaving the zip's structure intact.
        long offset;
        using (var zip = ZipFile.OpenRead(model))
        {
            var entry = zip.Entries.MaxBy(e => e.CompressedLength)!;
            offset = FindEntryData(model, entry) + entry.CompressedLength / 2;
        }
        var bytes = File.ReadAllBytes(model);
        bytes[offset] ^= 0x01;
        File.WriteAllBytes(model, bytes);
        Refuses("m.zip: damaged model (", [model], "generate", "--model", model, "--seed", Path.Combine(songs, "song0.wav"), "--out", temp.File("o.wav"));
        Assert.False(File.Exists(temp.File("o.wav")));
    }

    /// <summary>Where an entry's data starts: after its local header (30 bytes, its name and extra field).</summary>
    private static long FindEntryData(string path, ZipArchiveEntry entry)
    {
        var bytes = File.ReadAllBytes(path);
        var name = System.Text.Encoding.UTF8.GetBytes(entry.FullName);
        for (int i = 0; i + 30 + name.Length <= bytes.Length; i++)
        {
            if (bytes[i] != 0x50 || bytes[i + 1] != 0x4B || bytes[i + 2] != 3 || bytes[i + 3] != 4) continue;
            int nameLength = BitConverter.ToUInt16(bytes, i + 26), extra = BitConverter.ToUInt16(bytes, i + 28);
            if (nameLength == name.Length && bytes.AsSpan(i + 30, nameLength).SequenceEqual(name)) return i + 30 + nameLength + extra;
        }
        throw new InvalidDataException($"{entry.FullName}: local header not found");
    }

    [Fact]
    public void One_training_per_model_and_a_dead_runs_lock_is_taken_over()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp, count: 3);
        string model = temp.File("m.zip");
        using (TrainingLock.Acquire(model))                                      // a live holder: this very process
        {
            var (code, _, err) = Run(["train", songs, "--model", model, .. TinyModel]);
            Assert.Equal(1, code);
            Assert.Contains($"another training (process {Environment.ProcessId}) is writing this model", err);
            Assert.False(File.Exists(model));
        }
        File.WriteAllText(TrainingLock.PathOf(model), "999999 1");                // a run that no longer exists
        Succeeded(Run(["train", songs, "--model", model, .. TinyModel]));
        Assert.False(File.Exists(TrainingLock.PathOf(model)));                    // released at the end
    }

    [Fact]
    public async Task SIGTERM_stops_training_at_a_checkpoint_with_every_epoch_logged()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp, count: 3, seconds: 4);
        string model = temp.File("m.zip");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "musicgen.dll"), "train", songs, "--model", model, "--patience", "0" }
                     .Concat(TinyModel[..^1]).Append("500"))
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        string? line;
        int epochs = 0;
        while ((line = process.StandardOutput.ReadLine()) is not null)
            if (line.StartsWith("epoch ", StringComparison.Ordinal) && ++epochs == 2) break;
        Assert.Equal(2, epochs);
        Assert.Equal(0, Kill(process.Id, 15));
        process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "training did not stop");
        Assert.Equal(143, process.ExitCode);
        Assert.Contains("run the same command with --resume", await errors);
        var files = TrainingFiles.Beside(model);
        Assert.True(File.Exists(files.Checkpoint));
        Assert.False(File.Exists(TrainingLock.PathOf(model)));
        Assert.True(File.ReadAllLines(files.Log).Length - 1 >= 2, "each finished epoch has its row");
        Assert.Empty(Directory.GetFiles(temp.Path, "*.partial*"));
    }

    [Fact]
    public void An_interrupted_run_is_neither_replaced_by_a_fresh_one_nor_resumed_on_other_files()
    {
        using var temp = new TempFolder();
        var (songs, model) = Trained(temp);
        var files = TrainingFiles.Beside(model);
        File.SetLastWriteTimeUtc(model, File.GetLastWriteTimeUtc(files.Checkpoint).AddMinutes(-1));   // as if killed before saving
        Refuses("m.ckpt holds a run that did not finish", [files.Checkpoint], ["train", songs, "--model", model, .. TinyModel]);
        WavWriter.Write(Path.Combine(songs, "added.wav"), TestAudio.Melody(8000, 2, 1, variant: 4));
        Refuses("m.ckpt: written for other training files", [files.Checkpoint], ["train", songs, "--model", model, "--resume", .. TinyModel[..^1], "3"]);
        // A temporary file a killed write left behind is removed at the next run.
        string leftover = model + ".999999.partial.zip";
        File.WriteAllText(leftover, "half a model");
        File.Delete(Path.Combine(songs, "added.wav"));
        var resumed = Run(["train", songs, "--model", model, "--resume", .. TinyModel[..^1], "3"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains("removed", resumed.Err);
        Assert.False(File.Exists(leftover));
    }

    [Fact]
    public void A_finished_model_is_replaced_only_with_force()
    {
        using var temp = new TempFolder();
        var (songs, model) = Trained(temp);
        Refuses("m.zip exists: pass --force to replace it", [model], ["train", songs, "--model", model, .. TinyModel]);
        var again = Run(["train", songs, "--model", model, "--force", .. TinyModel]);
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("to train further with --resume; delete them when the model is final", again.Out);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public void Options_out_of_range_are_refused_before_any_work()
    {
        using var temp = new TempFolder();
        var (songs, model) = Trained(temp);
        string seed = Path.Combine(songs, "song0.wav");
        foreach (var (args, expected) in new (string[], string)[]
                 {
                     (["generate", "--model", model, "--seed", seed, "--out", temp.File("o.wav"), "--seconds", "1e9"], "Seconds must be more than 0 and at most 3600"),
                     (["generate", "--model", model, "--seed", seed, "--out", temp.File("o.wav"), "--takes", "-1"], "Takes must be between 1 and 256, not -1"),
                     (["train", songs, "--model", temp.File("n.zip"), "--hidden", "100000"], "each from 1 to 8192"),
                     (["train", songs, "--model", temp.File("n.zip"), "--learning-rate", "1e9"], "LearningRate must be more than 0 and at most 1"),
                     (["train", songs, "--model", "/proc/musicgen/n.zip"], "cannot write in /proc/musicgen"),
                 })
        {
            var (code, _, err) = Run(args);
            Assert.Equal(1, code);
            Assert.Contains(expected, err);
            Assert.Single(err.Trim().Split('\n'));
        }
        Assert.False(File.Exists(temp.File("o.wav")));
        Assert.Equal(2, Run("train", songs, "--model", temp.File("n.zip"), "--epochs", "abc").Code);
    }
}
