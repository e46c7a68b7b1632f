using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML;
using MusicGen.Estimators;
using MusicGen.Estimators.Training;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.IO;
using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Tokens;

namespace MusicGen.Host.Commands;

/// <summary><c>musicgen train</c>: fits a pipeline on files and folders and saves it.</summary>
internal static class TrainCommand
{
    public static Command Create(Cli cli)
    {
        var paths = new Argument<string[]>("paths") { Description = "Audio files or folders (searched recursively)", Arity = ArgumentArity.OneOrMore };
        var model = new Option<string>("--model", "-m") { Description = "Where to write the trained model (.zip)", Required = true };
        var strict = new Option<bool>("--strict") { Description = "Stop on the first unreadable file instead of skipping it" };
        var preview = new Option<string?>("--preview") { Description = "After every epoch, write MODEL.preview.wav: 5 s generated from this seed file" };
        var resume = new Option<bool>("--resume") { Description = "Continue from MODEL.ckpt, the checkpoint written after every epoch, every --checkpoint-minutes and on Ctrl+C" };
        var options = new TrainingOptions();
        var force = new Option<bool>("--force") { Description = "Replace an existing model (without it, train refuses to overwrite one)" };
        var command = new Command("train", "Train a model on audio files and folders") { paths, model, strict, resume, preview, force };
        options.AddTo(command);
        command.SetAction(r =>
        {
            string modelPath = r.GetValue(model)!;
            var (preset, settings) = options.Read(r);
            settings.Resume = r.GetValue(resume);
            var companions = TrainingFiles.Beside(modelPath);
            if (settings.Resume && !File.Exists(companions.Checkpoint))
            {
                cli.Error.WriteLine($"musicgen: error: {companions.Checkpoint}: no checkpoint to resume from");
                return 1;
            }
            if (r.GetValue(preview) is { } seed)
            {
                if (!File.Exists(seed))
                {
                    cli.Error.WriteLine($"musicgen: error: {seed}: no such preview seed file");
                    return 1;
                }
                string previewPath = companions.Preview;
                settings.EpochEnd = (fitted, epoch) =>
                {
                    new MusicGenerator(fitted).GenerateToFile(seed, previewPath, new GenerationOptions { Seconds = 5, PrimeSeconds = 5 });
                    cli.Out.WriteLine($"epoch {epoch}: wrote {previewPath}");
                };
            }
            int code = cli.Guard(ct => Run(cli, r.GetValue(paths)!, modelPath, preset, settings, ct, r.GetValue(strict), r.GetValue(preview), r.GetValue(force)));
            if (code is 130 or 143 && File.Exists(companions.Checkpoint))
                cli.Error.WriteLine($"musicgen: training stopped after a checkpoint in {companions.Checkpoint}; run the same command with --resume to continue");
            return code;
        });
        return command;
    }

    internal static int Run(Cli cli, IReadOnlyList<string> paths, string modelPath, string preset, PipelineSettings settings, CancellationToken ct, bool strict = false,
        string? previewSeed = null, bool force = false)
    {
        var epochs = new List<TrainingProgress>();
        var companions = TrainingFiles.Beside(modelPath);
        settings.Progress = p =>
        {
            cli.Progress(p);
            if (!p.EpochDone) return;
            epochs.Add(p);
            // Each epoch's row is in the log as soon as the epoch ends, so an interrupted and resumed run keeps them all.
            TrainingLog.Save(epochs, companions.Log);
            if (epochs.Count >= 2 && p.Loss > 100 * epochs[0].Loss)
                cli.Error.WriteLine($"musicgen: warning: the training loss grew from {epochs[0].Loss:G3} to {p.Loss:G3}: training is diverging; try a lower --learning-rate or --clip");
        };
        settings.CancellationToken = ct;
        settings.CheckpointPath = companions.Checkpoint;
        // Unreadable files are skipped by the loader as it decodes them (each file is decoded once), unless strict.
        var skipped = new List<string>();
        settings.SkipUnreadable = !strict;
        settings.Warning = warning =>
        {
            cli.Error.WriteLine($"musicgen: warning: {warning.Message}");
            if (warning.Skipped) skipped.Add(Path.GetFileName(warning.File));
        };
        HoldOut? chosen = null;
        settings.HoldOutChosen = h => chosen = h;
        var ml = new MLContext(seed: settings.Seed);
        var files = AudioFile.Expand(paths);
        if (files.Count == 0) throw new InvalidDataException($"No audio files in {string.Join(", ", paths)}.");
        // Nothing a user owns is overwritten, and an unwritable model path fails before any decoding.
        OutputGuard.Check([companions.Model, companions.Checkpoint, companions.BestCheckpoint, companions.Log, companions.LossPlot, companions.Preview],
            [.. files, .. previewSeed is null ? Array.Empty<string>() : [previewSeed]]);
        OutputGuard.CheckWritable(companions.Model);
        using var trainingLock = TrainingLock.Acquire(companions.Model);
        foreach (var leftover in companions.RemoveLeftovers()) cli.Error.WriteLine($"musicgen: removed {leftover}, left by a killed run");
        if (!settings.Resume && companions.HasInterruptedRun)
            throw new InvalidOperationException($"{companions.Checkpoint} holds a run that did not finish: continue it with --resume, or delete it to start afresh");
        if (!settings.Resume && !force && File.Exists(companions.Model))
            throw new InvalidOperationException($"{companions.Model} exists: pass --force to replace it, or --resume with a larger --epochs to train it further");
        settings.DataFingerprint = TrainingFiles.Fingerprint(files);
        // Checks every option; nothing has been decoded yet.
        var pipeline = preset == "seed2017" ? ml.Transforms.Seed2017Model(settings) : ml.Transforms.TokenModel(settings);
        var data = ml.Data.LoadAudioFiles(files);
        cli.Out.WriteLine($"Training the {preset} preset on {files.Count} file(s), up to {settings.Epochs} epoch(s)...");
        var clock = Stopwatch.StartNew();
        using var fitted = cli.WithProgressBar("decoding, features, codebook and envelope", () => pipeline.Fit(data));
        if (skipped.Count > 0) cli.Error.WriteLine($"musicgen: warning: skipped {skipped.Count} unreadable file(s): {string.Join(", ", skipped)}");
        var best = epochs.Where(e => e.Validation is not null).MinBy(e => e.Validation!.Loss);
        var info = new ModelInfo
        {
            Preset = preset,
            Settings = typeof(PipelineSettings).GetProperties()
                .Where(p => p.PropertyType.IsPrimitive || p.PropertyType.IsEnum || p.PropertyType == typeof(string) || Nullable.GetUnderlyingType(p.PropertyType) is { } u && (u.IsPrimitive || u.IsEnum) || p.PropertyType == typeof(TimeSpan))
                .Where(p => p.Name is not (nameof(PipelineSettings.CheckpointPath) or nameof(PipelineSettings.DataFingerprint)))
                .Select(p => (p.Name, Value: p.GetValue(settings)))
                .Where(p => p.Value is not null)
                .ToDictionary(p => p.Name, p => Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture)!),
            TrainingFiles = files.Select(Path.GetFileName).Where(f => !skipped.Contains(f!)).ToList()!,
            SkippedFiles = skipped.Count > 0 ? skipped : null,
            Epochs = epochs.Count > 0 ? epochs.Max(e => e.Epoch) : null,
            BestEpoch = best?.Epoch,
            Validation = best?.Validation is { } v ? new Dictionary<string, double>
            {
                ["loss"] = v.Loss,
                [v.RepeatPreviousName] = v.RepeatPrevious,
                [v.AverageName] = v.Average,
            } : null,
            TrainingSeconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        ModelFile.Save(ml, fitted, data.Schema, modelPath, info);
        cli.Out.WriteLine($"Saved {modelPath} ({new FileInfo(modelPath).Length / 1024} KiB) after {clock.Elapsed.TotalSeconds:F1} s.");
        if (PipelineStages.Of(fitted).Network is { PredictsTokens: true } network)
            cli.Out.WriteLine($"Backoff weight fitted on the held-out files: {network.Network.BackoffWeight:F2}" + (network.Network.BackoffFit is { } fit
                ? $" (held-out cross-entropy {fit.Interpolated:F3} nats; network alone {fit.Network:F3}, repeat-or-unigram alone {fit.Backoff:F3})." : "."));
        TrainingLog.Save(epochs, companions.Log);
        LossPlot.Save(companions.Log, companions.LossPlot);
        cli.Out.WriteLine($"Wrote {companions.Log} and {companions.LossPlot}.");
        if (chosen is { WholeFiles: true } h)
            cli.Out.WriteLine($"Validated on {h.Files.Count} held-out file(s) the model never trained on: {string.Join(", ", h.Files.Select(Path.GetFileName))}.");
        else if (chosen is { EndStreams: true } ends)
            cli.Out.WriteLine($"Validated on the end of each file, never trained on: the last {ends.EndStreamsHeld} of its {ends.BatchSize} streams " +
                $"({(double)ends.EndStreamsHeld / ends.BatchSize:P1}; fewer than 3 files to hold out whole).");
        else if (chosen is { Fraction: > 0 } tail)
            cli.Out.WriteLine($"Validated on the last {tail.Fraction:P0} of each file's batches, never trained on (fewer than 3 files to hold out whole).");
        if (best is not null)
            cli.Out.WriteLine($"Kept epoch {best.Epoch} of {epochs.Max(e => e.Epoch)}, the best on held-out audio ({best.Validation!.Loss:G4}{(best.Validation.Kind == LossKind.CrossEntropy ? " nats" : "")}; " +
                $"{best.Validation.RepeatPreviousName} {best.Validation.RepeatPrevious:G4}, {best.Validation.AverageName} {best.Validation.Average:G4}).");
        var kept = new[] { companions.Checkpoint, companions.BestCheckpoint }.Where(File.Exists).ToList();
        if (kept.Count > 0)
            cli.Out.WriteLine($"Kept {string.Join(" and ", kept.Select(Path.GetFileName))} ({kept.Sum(f => new FileInfo(f).Length) / (1 << 20)} MiB) to train further with --resume; delete them when the model is final.");
        return 0;
    }
}

/// <summary>
/// The pipeline options that <c>train</c> and <c>demo</c> share. Each starts from the chosen preset's default
/// (<see cref="PipelineSettings.TokenModel"/> for "default", <see cref="PipelineSettings.Seed2017Model"/> for "seed2017").
/// </summary>
internal sealed class TrainingOptions
{
    private readonly Option<string> preset = Cli.Option("--preset", "default: the token model that samples; seed2017: the 2017 system", "default");
    private readonly Option<int?> epochs = Maybe<int>("--epochs", "Passes over the data (default: 40; seed2017: 10)");
    private readonly Option<BatchOrdering?> batching = Maybe<BatchOrdering>("--batching", "Stateful batch ordering: Seed2017 or ContiguousStreams (default: ContiguousStreams; seed2017: Seed2017)");
    private readonly Option<int?> batchSize = Maybe<int>("--batch-size", "State streams per batch (default: 16; seed2017: 32)");
    private readonly Option<int?> sequenceLength = Maybe<int>("--sequence-length", "Batches per optimizer step, truncated backpropagation through time (default: 64; seed2017: 1)");
    private readonly Option<int?> layers = Maybe<int>("--layers", "LSTM layers (default: 2; seed2017: 3)");
    private readonly Option<int?> hidden = Maybe<int>("--hidden", "Units per LSTM layer (default: 384; seed2017: 256)");
    private readonly Option<float?> dropout = Maybe<float>("--dropout", "Dropout after every LSTM layer (default: 0.3; seed2017: 0.5, 0.3, 0.2)");
    private readonly Option<float?> learningRate = Maybe<float>("--learning-rate", "Adam's learning rate (default: 0.001)");
    private readonly Option<float?> clip = Maybe<float>("--clip", "Clip the gradient norm to this, 0: off (default: 1; seed2017: 0)");
    private readonly Option<int?> tokens = Maybe<int>("--tokens", "Codebook size of the default preset (default: 512)");
    private readonly Option<int?> envelopeBands = Maybe<int>("--envelope-bands", "Mel bands of the default preset's envelope channel, 0: none, the exemplars play as they are (default: 896)");
    private readonly Option<int?> members = Maybe<int>("--members", "Real training frames each token of the default preset keeps, generation playing the one that continues the notes (default: 1, the medoid alone; try 8)");
    private readonly Option<int?> envelopeSeed = Maybe<int>("--envelope-seed", "Random seed of the default preset's envelope channel fit alone (default: --random-seed)");
    private readonly Option<int?> embedding = Maybe<int>("--embedding", "Token embedding size of the default preset (default: 128)");
    private readonly Option<bool> describeTokens = new("--describe-tokens") { Description = "Default preset: embed and score tokens through their codebook centroids" };
    private readonly Option<bool> textureInput = new("--texture-input") { Description = "Default preset: the network also reads the song's texture (about 11 s), held at the seed's while generating" };
    private readonly Option<bool> onsetTerm = new("--onset-term") { Description = "Default preset: the network adds a learned multiple of its beat clock's onset guide to every token's logit" };
    private readonly Option<float?> tokenNoise = Maybe<float>("--token-noise", "Share of input tokens replaced at random while training the default preset (default: 0.1)");
    private readonly Option<float?> relabelShare = Maybe<float>("--relabel-share", "Share of training streams whose tokens the default preset renames at random each segment, so that the network learns to follow what a song itself played (default: 0)");
    private readonly Option<int?> frameSize = Maybe<int>("--frame-size", "Samples per FFT frame (default: 2048; seed2017: 256)");
    private readonly Option<Representation?> representation = Maybe<Representation>("--representation", "seed2017 preset's features: Seed2017, ComplexSpectrum, LogMagnitude or LogMel (the default preset is LogMagnitude)");
    private readonly Option<int?> hop = Maybe<int>("--hop", "Samples between frames (default: 512; seed2017: the frame size for Seed2017 features, a quarter of it otherwise)");
    private readonly Option<WindowKind?> window = new("--window") { Description = "Rectangular, Hann or Hamming (default: Hann; seed2017: rectangular for Seed2017 features)" };
    private readonly Option<int?> melBands = Maybe<int>("--mel-bands", "Mel bands describing frames for the codebook (default: 64), or of LogMel features (80)");
    private readonly Option<bool?> normalize = new("--normalize") { Description = "seed2017 preset: standardise features (default: off for Seed2017 features, on otherwise)" };
    private readonly Option<int?> sampleRate = Maybe<int>("--sample-rate", "Model sample rate (default: 22050; seed2017: 0, the first file's)");
    private readonly Option<int?> channels = Maybe<int>("--channels", "Model channels (default: 1; seed2017: 1 or 2, 0: the first file's)");
    private readonly Option<int> seed = Cli.Option("--random-seed", "Random seed", 1);
    private readonly Option<double> validation = Cli.Option("--validation", "Share of the audio held out for validation: that share of whole files when there are 3 or more, else the end of each file (0: none)", 0.1);
    private readonly Option<float> decay = Cli.Option("--lr-decay", "Multiply the learning rate by this after every epoch", 1f);
    private readonly Option<double> checkpointMinutes = Cli.Option("--checkpoint-minutes", "Also checkpoint at the end of a file this many minutes after the last checkpoint (0: at epoch ends only)", 10.0);
    private readonly Option<string> device = Cli.Option("--device", "cpu, or cuda (needs a CUDA build of TorchSharp)", "cpu");
    private readonly Option<double> segmentSeconds = Cli.Option("--segment-seconds", "Longest piece of a file decoded at once, in seconds (0: whole files); memory follows it, not the longest file", 600.0);
    private readonly Option<int?> patience = Maybe<int>("--patience", "Stop after this many epochs without a better validation loss, 0: never (default: 6; seed2017: 0)");

    private static Option<T?> Maybe<T>(string name, string description) where T : struct => new(name) { Description = description };

    public void AddTo(Command command)
    {
        preset.AcceptOnlyFromAmong("default", "seed2017");
        device.AcceptOnlyFromAmong("cpu", "cuda");
        foreach (var o in new Option[] { preset, epochs, batching, batchSize, sequenceLength, layers, hidden, dropout, learningRate, clip, tokens, embedding,
                     tokenNoise, relabelShare, frameSize, representation, hop, window, melBands, normalize, sampleRate, channels, seed, validation, patience, decay, checkpointMinutes, device, describeTokens, textureInput, onsetTerm,
                     segmentSeconds, envelopeBands, envelopeSeed, members })
            command.Options.Add(o);
    }

    /// <summary>The preset's name and its settings with the options given applied.</summary>
    public (string Preset, PipelineSettings Settings) Read(ParseResult r)
    {
        string name = r.GetValue(preset)!;
        var s = name == "seed2017" ? PipelineSettings.Seed2017Model() : PipelineSettings.TokenModel();
        if (name != "seed2017" && r.GetValue(representation) is { } given && given != Representation.LogMagnitude)
            throw new ArgumentException($"The default preset uses LogMagnitude features; --representation {given} needs --preset seed2017.");
        if (r.GetValue(epochs) is { } e) s.Epochs = e;
        if (r.GetValue(batching) is { } b) s.Ordering = b;
        if (r.GetValue(batchSize) is { } bs) s.BatchSize = bs;
        if (r.GetValue(sequenceLength) is { } sl) s.SequenceLength = sl;
        if (r.GetValue(layers) is { } l) s.Layers = l;
        if (r.GetValue(hidden) is { } h) s.HiddenSize = h;
        if (r.GetValue(dropout) is { } d) s.Dropout = d;
        if (r.GetValue(learningRate) is { } lr) s.LearningRate = lr;
        if (r.GetValue(clip) is { } c) s.GradientClipNorm = c;
        if (r.GetValue(tokens) is { } t) s.TokenCount = t;
        if (r.GetValue(embedding) is { } em) s.EmbeddingSize = em;
        if (r.GetValue(envelopeBands) is { } eb) s.EnvelopeBands = eb;
        if (r.GetValue(envelopeSeed) is { } es) s.EnvelopeSeed = es;
        if (r.GetValue(members) is { } mb) s.Members = mb;
        if (r.GetValue(tokenNoise) is { } n) s.TokenNoise = n;
        if (r.GetValue(relabelShare) is { } rs) s.RelabelShare = rs;
        if (r.GetValue(frameSize) is { } f) s.FrameSize = f;
        if (r.GetValue(representation) is { } rep) s.Representation = rep;
        if (r.GetValue(hop) is { } hp) s.Hop = hp;
        if (r.GetValue(window) is { } w) s.Window = w;
        if (r.GetValue(melBands) is { } m) s.MelBands = m;
        if (r.GetValue(normalize) is { } norm) s.Normalize = norm;
        if (r.GetValue(sampleRate) is { } sr) s.SampleRate = sr;
        if (r.GetValue(channels) is { } ch) s.Channels = ch;
        if (r.GetValue(patience) is { } p) s.EarlyStoppingPatience = p;
        s.Seed = r.GetValue(seed);
        s.DescribeTokens = r.GetValue(describeTokens);
        s.TextureInput = r.GetValue(textureInput);
        s.OnsetTerm = r.GetValue(onsetTerm);
        s.Device = r.GetValue(device)!;
        s.ValidationFraction = r.GetValue(validation);
        s.SegmentSeconds = r.GetValue(segmentSeconds);
        s.LearningRateDecay = r.GetValue(decay);
        s.CheckpointInterval = TimeSpan.FromMinutes(Math.Max(0, r.GetValue(checkpointMinutes)));
        return (name, s);
    }
}
