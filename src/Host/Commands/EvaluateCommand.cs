using System.CommandLine;
using System.Text.Json;
using Microsoft.ML;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.IO;
using MusicGen.Evaluation;

namespace MusicGen.Host.Commands;

/// <summary><c>musicgen evaluate</c> and <c>musicgen reconstruct</c>: how good is a model, and what can its representation hold.</summary>
internal static class EvaluateCommand
{
    public static Command Create(Cli cli)
    {
        var model = new Option<string>("--model", "-m") { Description = "Trained model (.zip)", Required = true };
        var reference = new Option<string[]>("--reference") { Description = "Held-out audio files or folders the model never trained on", Required = true, AllowMultipleArgumentsPerToken = true };
        var seeds = new Option<string[]>("--seeds") { Description = "Held-out seed files (two or more for seed sensitivity)", Required = true, AllowMultipleArgumentsPerToken = true };
        var takes = Cli.Option("--takes", "Takes per seed", 3);
        var seconds = Cli.Option("--seconds", "Seconds per take", 20.0);
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to this file" };
        var randomSeed = Cli.Option("--random-seed", "Random seed of the takes (take k of each seed uses this + k - 1): another one draws other takes", 1);
        var training = new Option<string[]>("--training") { Description = "The audio the model trained on (files or folders), for the copy rate", AllowMultipleArgumentsPerToken = true };
        var sampling = new SamplingOptions();
        var command = new Command("evaluate", "Generate takes from held-out seeds and print the measures of docs/quality.md with their targets")
        {
            model, reference, seeds, training, takes, seconds, json, randomSeed,
        };
        sampling.AddTo(command);
        command.SetAction(r => cli.Guard(_ =>
        {
            var inputs = new[] { r.GetValue(model)! }.Concat(AudioFile.Expand(r.GetValue(reference)!)).Concat(AudioFile.Expand(r.GetValue(seeds)!))
                .Concat(r.GetValue(training) is { Length: > 0 } tr ? AudioFile.Expand(tr) : []).ToList();
            if (r.GetValue(json) is { } jsonPath)
            {
                OutputGuard.Check([jsonPath], inputs);
                OutputGuard.CheckWritable(jsonPath);
            }
            var loaded = ModelFile.Load(new MLContext(), r.GetValue(model)!);
            var figures = Evaluator.Evaluate(loaded, AudioFile.Expand(r.GetValue(reference)!), AudioFile.Expand(r.GetValue(seeds)!),
                r.GetValue(takes), r.GetValue(seconds), line => cli.Error.WriteLine(line),
                r.GetValue(training) is { Length: > 0 } t ? AudioFile.Expand(t) : null,
                sampling.Apply(r, new GenerationOptions { RandomSeed = r.GetValue(randomSeed) }));
            int width = figures.Max(f => f.Name.Length);
            cli.Out.WriteLine($"{"measure".PadRight(width)} {"value",10}  {"target",-12} met  {"seeds' own music",16}");
            foreach (var f in figures)
            {
                string target = double.IsNaN(f.Low) ? $"<= {f.High}" : double.IsNaN(f.High) ? $">= {f.Low}" : $"{f.Low} - {f.High}";
                string own = double.IsNaN(f.SeedsOwn) ? "-" : f.SeedsOwn.ToString("G4");
                cli.Out.WriteLine($"{f.Name.PadRight(width)} {f.Value,10:G4}  {target,-12} {(double.IsNaN(f.Value) ? "n/a" : f.Met ? "yes" : "no"),-3}  {own,16}");
            }
            cli.Out.WriteLine("seeds' own music: each seed's next stretch as long as a take, after its primed excerpt, scored in place of the takes.");
            WritePerSeed(cli.Out, figures, width);
            if (r.GetValue(json) is { } path)
            {
                static double? Json(double v) => double.IsNaN(v) ? null : v;
                AtomicFile.Write(path, tmp => File.WriteAllText(tmp, JsonSerializer.Serialize(figures.Select(f => new
                {
                    f.Name, Value = Json(f.Value), f.Met, SeedsOwn = Json(f.SeedsOwn),
                    PerSeed = f.PerSeed.Select(s => new { Seed = Path.GetFileName(s.Seed), Value = Json(s.Value), SeedsOwn = Json(s.SeedsOwn) }),
                }))));
                cli.Out.WriteLine($"Wrote {path}.");
            }
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The measures each seed's takes score alone, a column per seed: the takes' value, the seed's own music's in
    /// brackets. Nothing with fewer than two seeds.
    /// </summary>
    private static void WritePerSeed(TextWriter output, IReadOnlyList<QualityFigure> figures, int width)
    {
        var rows = figures.Where(f => f.PerSeed.Count > 0).ToList();
        if (rows.Count == 0) return;
        var names = rows[0].PerSeed.Select(s => Path.GetFileNameWithoutExtension(s.Seed)).ToList();
        int column = Math.Max(20, names.Max(n => n.Length)) + 2;
        static string Value(double v) => double.IsNaN(v) ? "-" : v.ToString("G4");
        output.WriteLine();
        output.WriteLine("per seed: its takes alone, and in brackets its own music (as evaluate reports with that seed the only one)");
        output.WriteLine(("measure".PadRight(width) + string.Concat(names.Select(n => " " + n.PadRight(column)))).TrimEnd());
        foreach (var f in rows)
            output.WriteLine((f.Name.PadRight(width) + string.Concat(f.PerSeed.Select(s => " " + $"{Value(s.Value)} ({Value(s.SeedsOwn)})".PadRight(column)))).TrimEnd());
    }

    public static Command CreateReconstruct(Cli cli)
    {
        var model = new Option<string>("--model", "-m") { Description = "Trained model (.zip)", Required = true };
        var input = new Option<string>("--in") { Description = "Audio file", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output WAV", Required = true };
        var phase = SamplingOptions.PhaseIterations();
        var command = new Command("reconstruct", "Pass a file through the model's analysis and resynthesis, without the LSTM") { model, input, output, phase };
        command.SetAction(r => cli.Guard(_ =>
        {
            string source = r.GetValue(input)!, target = r.GetValue(output)!;
            if (!File.Exists(source)) throw new FileNotFoundException($"{source}: no such file", source);
            AudioWriter.CheckFormat(target);
            OutputGuard.Check([target], [source, r.GetValue(model)!]);
            OutputGuard.CheckWritable(target);
            var generator = new MusicGenerator(ModelFile.Load(new MLContext(), r.GetValue(model)!));
            var clip = generator.Reconstruct(source, phaseIterations: r.GetValue(phase));
            AudioWriter.Write(target, clip);
            cli.Out.WriteLine($"Wrote {target}: {clip.Seconds:F1} s.");
            return 0;
        }));
        return command;
    }
}
