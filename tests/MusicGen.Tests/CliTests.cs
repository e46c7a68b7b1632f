using MusicGen.Transforms.Audio;
using static MusicGen.Tests.TestCli;

namespace MusicGen.Tests;

public class CliTests
{
    [Fact]
    public void Every_sampling_option_declared_is_added_to_the_commands_that_share_them()
    {
        // A field declared but left out of AddTo parses as an unknown argument (--seed-level once did).
        var sampling = new MusicGen.Host.Commands.SamplingOptions();
        var command = new System.CommandLine.Command("generate");
        sampling.AddTo(command);
        var declared = typeof(MusicGen.Host.Commands.SamplingOptions)
            .GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)
            .Where(f => typeof(System.CommandLine.Option).IsAssignableFrom(f.FieldType))
            .Select(f => (System.CommandLine.Option)f.GetValue(sampling)!).ToList();
        Assert.True(declared.Count > 15, $"{declared.Count} options found");
        Assert.All(declared, o => Assert.Contains(o, command.Options));
    }

    [Fact]
    public void Train_and_generate_run_end_to_end()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp);
        System.IO.File.WriteAllText(Path.Combine(songs, "broken.wav"), "not audio");
        string model = temp.File("m.zip");

        var train = Run(["train", songs, "--model", model, "--preview", Path.Combine(songs, "song0.wav"), .. TinyModel]);
        Assert.True(train.Code == 0, train.Err);
        Assert.Contains("epoch 2: wrote", train.Out);
        Assert.Equal(8000 * 5, WavReader.Read(temp.File("m.preview.wav")).Length);
        Assert.Contains("epoch 2/2", train.Out);
        Assert.Contains("frames/s", train.Out);
        Assert.Contains("skipping broken.wav: not a recognised audio file", train.Err);
        Assert.True(System.IO.File.Exists(model));

        string wav = temp.File("out.wav");
        var generate = Run("generate", "--model", model, "--seed", Path.Combine(songs, "song1.wav"), "--seconds", "2", "--out", wav, "--format", "wav24");
        Assert.True(generate.Code == 0, generate.Err);
        var clip = WavReader.Read(wav);
        Assert.Equal(16000, clip.Length);
        Assert.Contains("x real time", generate.Out);

        var takes = Run("generate", "--model", model, "--seed", Path.Combine(songs, "song1.wav"), "--seconds", "1", "--out", wav,
            "--takes", "2", "--temperature", "0.9", "--top-k", "8");
        Assert.True(takes.Code == 0, takes.Err);
        Assert.Equal(8000, WavReader.Read(temp.File("out-1.wav")).Length);
        Assert.Equal(8000, WavReader.Read(temp.File("out-2.wav")).Length);

        // A seed that opens quietly is primed where it reaches its level, and generate says where; --skip-intro false primes at the offset.
        string intro = temp.File("intro.wav");
        var melody = TestAudio.Melody(8000, 8, 1).Channels[0];
        WavWriter.Write(intro, new AudioClip(8000, [melody.Select((x, n) => n < 24000 ? x * 0.05f : x).ToArray()]));
        var skipped = Run("generate", "--model", model, "--seed", intro, "--seconds", "1", "--prime-seconds", "2", "--out", wav);
        Assert.True(skipped.Code == 0, skipped.Err);
        Assert.Matches(@"priming from 2\.\d\d s of intro\.wav", skipped.Err);
        var atStart = Run("generate", "--model", model, "--seed", intro, "--seconds", "1", "--prime-seconds", "2", "--skip-intro", "false", "--out", wav);
        Assert.True(atStart.Code == 0, atStart.Err);
        Assert.DoesNotContain("priming from", atStart.Err);
    }

    [Fact]
    public void Errors_are_one_readable_line_and_a_non_zero_exit_code()
    {
        using var temp = new TempFolder();
        string bad = temp.File("bad.wav");
        System.IO.File.WriteAllBytes(bad, []);
        string notModel = temp.File("model.zip");
        System.IO.File.WriteAllText(notModel, "hello");

        var cases = new[]
        {
            (Run("train", bad, "--model", temp.File("m.zip")), "No readable audio files"),
            (Run("train", temp.File("missing"), "--model", temp.File("m.zip")), "no such file or folder"),
            (Run("train", temp.Path, "--strict", "--model", temp.File("m.zip")), "bad.wav: file is empty"),
            (Run("train", temp.Path, "--resume", "--model", temp.File("m.zip")), "m.ckpt: no checkpoint to resume from"),
            (Run("train", TestAudio.MelodyFolder(temp), "--device", "cuda", "--model", temp.File("m.zip")), "CUDA was asked for but is not available"),
            (Run("generate", "--model", temp.File("none.zip"), "--seed", bad, "--out", temp.File("o.wav")), "none.zip: no such model file"),
            (Run("generate", "--model", notModel, "--seed", bad, "--out", temp.File("o.wav")), "model.zip: not a model file"),
        };
        foreach (var ((code, _, err), expected) in cases)
        {
            Assert.Equal(1, code);
            Assert.Contains(expected, err);
            Assert.Single(err.Trim().Split('\n'), line => line.StartsWith("musicgen: error: ", StringComparison.Ordinal));
            Assert.DoesNotContain("   at ", err);
        }
        Assert.False(System.IO.File.Exists(temp.File("o.wav")));
    }

    [Fact]
    public void A_model_trained_here_generates_the_same_file_in_a_new_process()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp);
        string model = temp.File("m.zip");
        Succeeded(Run(["train", songs, "--model", model, .. TinyModel]));
        string seed = Path.Combine(songs, "song0.wav");
        Succeeded(Run("generate", "--model", model, "--seed", seed, "--seconds", "1", "--out", temp.File("here.wav")));

        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "musicgen.dll"), "generate", "--model", model, "--seed", seed,
                             "--seconds", "1", "--out", temp.File("there.wav") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        string err = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "the child process did not finish");
        Assert.True(process.ExitCode == 0, err);
        Assert.Equal(System.IO.File.ReadAllBytes(temp.File("here.wav")), System.IO.File.ReadAllBytes(temp.File("there.wav")));
    }

    [Fact]
    public void A_model_with_damaged_weights_is_rejected_with_one_line()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp);
        string model = temp.File("m.zip");
        Succeeded(Run(["train", songs, "--model", model, .. TinyModel]));
        using (var zip = System.IO.Compression.ZipFile.Open(model, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = zip.Entries.Single(e => e.FullName.EndsWith("Weights.bin", StringComparison.Ordinal));
            string name = entry.FullName;
            entry.Delete();
            using var stream = zip.CreateEntry(name).Open();
            stream.Write(new byte[100]);
        }
        var (code, _, err) = Run("generate", "--model", model, "--seed", Path.Combine(songs, "song0.wav"), "--out", temp.File("o.wav"));
        Assert.Equal(1, code);
        Assert.StartsWith("musicgen: error: m.zip: cannot load the model (", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Theory]
    [InlineData("train", "Data:", "Model:", "Training:", "Output:")]
    [InlineData("generate", "Data:", "Model:", "Generation:", "Output:")]
    [InlineData("demo", "Data:", "Training:", "Output:")]
    [InlineData("inspect", "Output:")]
    [InlineData("evaluate", "Data:", "Model:", "Generation:", "Output:")]
    [InlineData("reconstruct", "Data:", "Model:", "Output:")]
    [InlineData("info")]
    public void Every_command_has_grouped_help_with_examples_that_fits_100_columns(string command, params string[] groups)
    {
        var (code, output, _) = Run(command, "--help");   // even without the options a command requires
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains("Examples:\n  musicgen " + command, output.ReplaceLineEndings("\n"));
        foreach (var group in groups) Assert.Contains("\n" + group + "\n", output.ReplaceLineEndings("\n"));
        Assert.All(output.ReplaceLineEndings("\n").Split('\n'), line => Assert.True(line.Length <= 100, $"{line.Length} columns: {line}"));
        Assert.DoesNotContain("[default:", output);   // one style: "(default: X)"
    }

    [Fact]
    public void Bad_usage_exits_with_code_2()
    {
        var (code, _, err) = Run("generate", "--seconds", "abc");
        Assert.NotEqual(0, code);
        Assert.NotEmpty(err);
    }
}
