using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML;
using MusicGen.Estimators;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Spectral;

namespace MusicGen.Host.Commands;

/// <summary><c>musicgen train</c>: fits a pipeline on files and folders and saves it.</summary>
internal static class TrainCommand
{
    public static Command Create(Cli cli)
    {
        var paths = new Argument<string[]>("paths") { Description = "Audio files or folders (searched recursively)", Arity = ArgumentArity.OneOrMore };
        var model = new Option<string>("--model", "-m") { Description = "Where to write the trained model (.zip)", Required = true };
        var strict = new Option<bool>("--strict") { Description = "Stop on the first unreadable file instead of skipping it" };
        var resume = new Option<bool>("--resume") { Description = "Continue from MODEL.ckpt, the checkpoint written after every epoch" };
        var options = new TrainingOptions();
        var command = new Command("train", "Train a model on audio files and folders") { paths, model, strict, resume };
        options.AddTo(command);
        command.SetAction(r =>
        {
            string modelPath = r.GetValue(model)!;
            var settings = options.Read(r);
            settings.Resume = r.GetValue(resume);
            if (settings.Resume && !File.Exists(Path.ChangeExtension(modelPath, ".ckpt")))
            {
                cli.Error.WriteLine($"musicgen: error: {Path.ChangeExtension(modelPath, ".ckpt")}: no checkpoint to resume from");
                return 1;
            }
            int code = cli.Guard(ct => Run(cli, r.GetValue(paths)!, modelPath, settings, ct, r.GetValue(strict)));
            if (code == 130 && File.Exists(Path.ChangeExtension(modelPath, ".ckpt")))
                cli.Error.WriteLine($"musicgen: the last finished epoch is in {Path.ChangeExtension(modelPath, ".ckpt")}; run the same command with --resume to continue");
            return code;
        });
        return command;
    }

    internal static int Run(Cli cli, IReadOnlyList<string> paths, string modelPath, PipelineSettings settings, CancellationToken ct, bool strict = false)
    {
        var epochs = new List<TrainingProgress>();
        settings.Progress = p =>
        {
            if (p.EpochDone) epochs.Add(p);
            cli.Progress(p);
        };
        settings.CancellationToken = ct;
        settings.CheckpointPath = Path.ChangeExtension(modelPath, ".ckpt");
        var ml = new MLContext(seed: settings.Seed);
        var pipeline = ml.Transforms.Seed2017(settings); // checks every option before any file is read
        var files = ReadableFiles(cli, paths, strict);
        var data = ml.Data.LoadAudioFiles(files);
        cli.Out.WriteLine($"Training on {files.Count} file(s), {settings.Epochs} epoch(s)...");
        var clock = Stopwatch.StartNew();
        var fitted = pipeline.Fit(data);
        ModelFile.Save(ml, fitted, data.Schema, modelPath);
        string log = Path.ChangeExtension(modelPath, ".log.csv"), plot = Path.ChangeExtension(modelPath, ".loss.png");
        cli.Out.WriteLine($"Saved {modelPath} ({new FileInfo(modelPath).Length / 1024} KiB) after {clock.Elapsed.TotalSeconds:F1} s.");
        TrainingLog.Save(epochs, log, plot);
        cli.Out.WriteLine($"Wrote {log} and {plot}.");
        return 0;
    }

    /// <summary>Expands folders and checks every file decodes; unreadable ones are reported and skipped (or fatal with strict).</summary>
    private static List<string> ReadableFiles(Cli cli, IReadOnlyList<string> paths, bool strict)
    {
        var files = new List<string>();
        var skipped = new List<string>();
        foreach (var file in AudioFile.Expand(paths))
        {
            try
            {
                var clip = AudioFile.Read(file);
                if (clip.Warning is not null) cli.Error.WriteLine($"musicgen: warning: {clip.Warning}");
                files.Add(file);
            }
            catch (InvalidDataException e) when (!strict)
            {
                cli.Error.WriteLine($"musicgen: warning: skipping {e.Message}");
                skipped.Add(Path.GetFileName(file));
            }
        }
        if (skipped.Count > 0) cli.Error.WriteLine($"musicgen: warning: skipped {skipped.Count} unreadable file(s): {string.Join(", ", skipped)}");
        if (files.Count == 0) throw new InvalidDataException($"No readable audio files in {string.Join(", ", paths)}.");
        return files;
    }
}

/// <summary>The pipeline options that <c>train</c> and <c>demo</c> share.</summary>
internal sealed class TrainingOptions
{
    private readonly Option<string> preset = Cli.Option("--preset", "Pipeline preset (seed2017: the 2017 system)", "seed2017");
    private readonly Option<int> epochs = Cli.Option("--epochs", "Passes over the data", 10);
    private readonly Option<BatchOrdering> batching = Cli.Option("--batching", "Stateful batch ordering: Seed2017 or ContiguousStreams", BatchOrdering.Seed2017);
    private readonly Option<int> batchSize = Cli.Option("--batch-size", "State streams per batch", 32);
    private readonly Option<int> sequenceLength = Cli.Option("--sequence-length", "Batches per optimizer step (truncated backpropagation through time)", 1);
    private readonly Option<int> layers = Cli.Option("--layers", "LSTM layers", 3);
    private readonly Option<int> hidden = Cli.Option("--hidden", "Units per LSTM layer", 256);
    private readonly Option<int> frameSize = Cli.Option("--frame-size", "Samples per FFT frame", 256);
    private readonly Option<Representation> representation = Cli.Option("--representation", "Features: Seed2017, ComplexSpectrum, LogMagnitude or LogMel", Representation.Seed2017);
    private readonly Option<int> hop = Cli.Option("--hop", "Samples between frames (0: frame size for Seed2017, a quarter of it otherwise)", 0);
    private readonly Option<WindowKind?> window = new("--window") { Description = "Rectangular, Hann or Hamming (default: rectangular for Seed2017, Hann otherwise)" };
    private readonly Option<int> melBands = Cli.Option("--mel-bands", "Mel bands for LogMel", 80);
    private readonly Option<bool?> normalize = new("--normalize") { Description = "Standardise features (default: off for Seed2017, on otherwise)" };
    private readonly Option<int> sampleRate = Cli.Option("--sample-rate", "Model sample rate (0: the first file's)", 0);
    private readonly Option<int> channels = Cli.Option("--channels", "Model channels, 1 or 2 (0: the first file's)", 0);
    private readonly Option<int> seed = Cli.Option("--random-seed", "Random seed", 1);
    private readonly Option<double> validation = Cli.Option("--validation", "Share of each file held out from its end for validation (0: none)", 0.1);
    private readonly Option<float> decay = Cli.Option("--lr-decay", "Multiply the learning rate by this after every epoch", 1f);
    private readonly Option<int> patience = Cli.Option("--patience", "Stop after this many epochs without a better validation loss (0: never)", 0);

    public void AddTo(Command command)
    {
        preset.AcceptOnlyFromAmong("seed2017");
        foreach (var o in new Option[] { preset, epochs, batching, batchSize, sequenceLength, layers, hidden, frameSize, representation, hop, window, melBands, normalize, sampleRate, channels, seed, validation, patience, decay })
            command.Options.Add(o);
    }

    public PipelineSettings Read(ParseResult r) => new()
    {
        Epochs = r.GetValue(epochs),
        Ordering = r.GetValue(batching),
        BatchSize = r.GetValue(batchSize),
        SequenceLength = r.GetValue(sequenceLength),
        Layers = r.GetValue(layers),
        HiddenSize = r.GetValue(hidden),
        FrameSize = r.GetValue(frameSize),
        Representation = r.GetValue(representation),
        Hop = r.GetValue(hop),
        Window = r.GetValue(window),
        MelBands = r.GetValue(melBands),
        Normalize = r.GetValue(normalize),
        SampleRate = r.GetValue(sampleRate),
        Channels = r.GetValue(channels),
        Seed = r.GetValue(seed),
        ValidationFraction = r.GetValue(validation),
        EarlyStoppingPatience = r.GetValue(patience),
        LearningRateDecay = r.GetValue(decay),
    };
}
