using System.CommandLine;

namespace MusicGen.Host.Commands;

/// <summary><c>musicgen demo</c>: trains a small model on the bundled data/ and generates from it.</summary>
internal static class DemoCommand
{
    public static Command Create(Cli cli)
    {
        var output = Cli.Option("--out", "Folder for the model and the generated WAV", "out");
        var data = Cli.Option("--data", "Folder of training audio (default: the repository's data/)", "");
        var seconds = Cli.Option("--seconds", "Seconds of audio to generate", 20.0);
        var options = new TrainingOptions();
        var command = new Command("demo", "Train on the bundled demo data and generate a WAV from it") { output, data, seconds };
        options.AddTo(command);
        command.SetAction(r => cli.Guard(ct =>
        {
            string folder = r.GetValue(data) is { Length: > 0 } d ? d : FindDataFolder();
            string outDir = r.GetValue(output)!;
            string model = Path.Combine(outDir, "model.zip");
            var (preset, settings) = options.Read(r);
            int rc = TrainCommand.Run(cli, [folder], model, preset, settings, ct, force: true); // the demo's own output folder
            if (rc != 0) return rc;
            string seed = Directory.EnumerateFiles(folder, "*.wav").Order(StringComparer.Ordinal).First();
            string wav = Path.Combine(outDir, "demo.wav");
            rc = GenerateCommand.Run(cli, model, seed, wav, new GenerationOptions { Seconds = r.GetValue(seconds) }, Transforms.Audio.WavSampleFormat.Pcm16);
            if (rc == 0) cli.Out.WriteLine($"Seed: {seed}. Listen to {wav}, or look at it: sox {wav} -n spectrogram -o {Path.ChangeExtension(wav, ".png")}");
            return rc;
        }));
        return command;
    }

    /// <summary>data/ in the current folder or its parents, else beside the program (the build and the tool package carry a copy).</summary>
    internal static string FindDataFolder()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data");
                if (File.Exists(Path.Combine(candidate, "ATTRIBUTION.md"))) return candidate;
            }
        }
        throw new DirectoryNotFoundException("Cannot find the demo data/ folder; run from the repository or pass --data FOLDER.");
    }
}
