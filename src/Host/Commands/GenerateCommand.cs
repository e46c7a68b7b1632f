using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.IO;

namespace MusicGen.Host.Commands;

/// <summary><c>musicgen generate</c>: continues a seed song with a trained model and writes a WAV.</summary>
internal static class GenerateCommand
{
    public static Command Create(Cli cli)
    {
        var model = new Option<string>("--model", "-m") { Description = "Trained model (.zip)", Required = true };
        var seed = new Option<string>("--seed", "-s") { Description = "Seed audio file to continue", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output file: .wav, or .flac, .mp3, .ogg (through ffmpeg); - writes a WAV to standard output", Required = true };
        var seconds = Cli.Option("--seconds", "Seconds of audio to generate", 20.0);
        var seedOffset = Cli.Option("--seed-offset", "Where in the seed priming may start, in seconds (from there, past a quiet intro; with --skip-intro false, exactly there)", 0.0);
        var randomSeed = Cli.Option("--random-seed", "Random seed (take k uses this + k - 1)", 1);
        var sampling = new SamplingOptions();
        var takes = Cli.Option("--takes", "Takes generated in one batch, written as OUT-1.wav, OUT-2.wav, ...", 1);
        var format = Cli.Option("--format", "Output sample format: wav16, wav24 or float", "wav16");
        format.AcceptOnlyFromAmong("wav16", "wav24", "float");
        var command = new Command("generate", "Generate audio that continues a seed song")
        {
            model, seed, output, seconds, seedOffset, randomSeed, takes, format,
        };
        sampling.AddTo(command);
        command.SetAction(r => cli.Guard(_ =>
        {
            var options = sampling.Apply(r, new GenerationOptions
            {
                Seconds = r.GetValue(seconds),
                SeedOffsetSeconds = r.GetValue(seedOffset),
                RandomSeed = r.GetValue(randomSeed),
                Takes = r.GetValue(takes),
            });
            return Run(cli, r.GetValue(model)!, r.GetValue(seed)!, r.GetValue(output)!, options, ParseFormat(r.GetValue(format)!));
        }));
        return command;
    }

    /// <summary>"--out -": one take as a WAV on standard output, for a pipe (messages go to standard error).</summary>
    private static int ToStandardOutput(Cli cli, string modelPath, string seedPath, GenerationOptions options, WavSampleFormat format)
    {
        if (options.Takes != 1) throw new ArgumentException("--out -: standard output holds one take; drop --takes or write to a file");
        var generator = new MusicGenerator(ModelFile.Load(new MLContext(seed: options.RandomSeed), modelPath));
        var clip = generator.Generate(seedPath, options);
        using (var stdout = Console.OpenStandardOutput()) WavWriter.Write(stdout, clip, format);
        cli.Error.WriteLine($"Wrote {clip.Seconds:F1} s of WAV to standard output.");
        return 0;
    }

    internal static WavSampleFormat ParseFormat(string format) => format switch
    {
        "wav24" => WavSampleFormat.Pcm24,
        "float" => WavSampleFormat.Float32,
        _ => WavSampleFormat.Pcm16,
    };

    internal static int Run(Cli cli, string modelPath, string seedPath, string outputPath, GenerationOptions options, WavSampleFormat format)
    {
        if (!File.Exists(seedPath)) throw new FileNotFoundException($"{seedPath}: no such seed file", seedPath);
        options.Validate();
        options.PrimeStarted ??= start =>
        {
            if (start != options.SeedOffsetSeconds)
                cli.Error.WriteLine($"priming from {start:F2} s of {Path.GetFileName(seedPath)}, where it reaches its typical level (past a quiet intro)");
        };
        if (outputPath == "-") return ToStandardOutput(cli, modelPath, seedPath, options, format);
        var outputs = MusicGenerator.TakePaths(outputPath, options.Takes);
        OutputGuard.Check(outputs, [modelPath, seedPath]);
        OutputGuard.CheckWritable(outputPath);
        var ml = new MLContext(seed: options.RandomSeed);
        var started = Stopwatch.StartNew();
        options.Progress ??= (done, total) =>
        {
            double left = started.Elapsed.TotalSeconds / Math.Max(done, 1) * (total - done);
            cli.Error.WriteLine($"generating: {100.0 * done / total:F0}% of the steps, about {TimeSpan.FromSeconds(left):h\\:mm\\:ss} left (then phase reconstruction)");
        };
        var generator = new MusicGenerator(ModelFile.Load(ml, modelPath));
        var clock = Stopwatch.StartNew();
        var written = generator.GenerateToFiles(seedPath, outputPath, options, format);
        double seconds = clock.Elapsed.TotalSeconds;
        var clip = written[0].Clip;
        cli.Out.WriteLine($"Wrote {string.Join(", ", written.Select(w => w.Path))}: {written.Count} x {clip.Seconds:F1} s, {clip.SampleRate} Hz, " +
                          $"{clip.ChannelCount} channel(s), generated in {seconds:F1} s ({written.Count * clip.Seconds / seconds:F1}x real time).");
        return 0;
    }
}
