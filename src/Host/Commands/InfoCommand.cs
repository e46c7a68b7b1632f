using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using MusicGen.Transforms.Network;

namespace MusicGen.Host.Commands;

/// <summary><c>musicgen info</c>: what a model is (how it was trained, and what its stages hold).</summary>
internal static class InfoCommand
{
    public static Command Create(Cli cli)
    {
        var model = new Argument<string>("model") { Description = "Trained model (.zip)" };
        var json = new Option<bool>("--json") { Description = "Print it as JSON" };
        var command = new Command("info", "Show how a model was trained and what its stages hold") { model, json };
        command.SetAction(r => cli.Guard(_ => Run(cli, r.GetValue(model)!, r.GetValue(json))));
        return command;
    }

    internal static int Run(Cli cli, string path, bool json)
    {
        var stages = PipelineStages.Of(ModelFile.Load(new MLContext(), path));
        var info = ModelInfo.ReadFrom(path);
        var network = stages.Network.Network;
        var settings = stages.Vectorizer.Settings;
        var model = new Dictionary<string, object?>
        {
            ["file"] = Path.GetFileName(path),
            ["kind"] = stages.Network.PredictsTokens ? "token model" : "frame model",
            ["bytes"] = new FileInfo(path).Length,
            ["sampleRate"] = stages.Loader.SampleRate,
            ["channels"] = stages.Loader.Channels,
            ["representation"] = settings.Representation.ToString(),
            ["frameSize"] = settings.FrameSize,
            ["hop"] = settings.Hop,
            ["tokens"] = stages.Tokenizer?.Codebook.TokenCount,
            ["tokenMembers"] = stages.Tokenizer?.Codebook.MembersPerToken,
            ["envelopeBands"] = stages.Tokenizer?.Envelope?.Envelope.Bands,
            ["lstmLayers"] = string.Join(" x ", network.HiddenSizes),
            ["parameters"] = network.parameters().Sum(p => p.numel()),
            ["memories"] = stages.Network.PredictsTokens ? Memories(network) : null,
            ["backoffWeight"] = stages.Network.PredictsTokens ? Math.Round(network.BackoffWeight, 3) : null,
        };
        if (json)
        {
            cli.Out.WriteLine(JsonSerializer.Serialize(new { model, training = info }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        foreach (var (name, value) in model.Where(m => m.Value is not null))
            cli.Out.WriteLine($"{name,-16} {Convert.ToString(value, CultureInfo.InvariantCulture)}");
        if (info is null)
        {
            cli.Out.WriteLine("training         not recorded (saved before models carried their history)");
            return 0;
        }
        cli.Out.WriteLine($"{"saved",-16} {info.SavedUtc:yyyy-MM-dd HH:mm} UTC by MusicGen {info.Version}");
        if (info.Preset is not null) cli.Out.WriteLine($"{"preset",-16} {info.Preset}");
        if (info.TrainingFiles is { } files) cli.Out.WriteLine($"{"trained on",-16} {files.Count} file(s): {string.Join(", ", files.Take(5))}{(files.Count > 5 ? ", ..." : "")}");
        if (info.SkippedFiles is { Count: > 0 } skipped) cli.Out.WriteLine($"{"skipped",-16} {string.Join(", ", skipped)}");
        if (info.Epochs is { } epochs) cli.Out.WriteLine($"{"epochs",-16} {epochs}{(info.BestEpoch is { } b ? $" (kept epoch {b}, the best on held-out audio)" : "")}");
        if (info.Validation is { } v)
            cli.Out.WriteLine($"{"validation",-16} {string.Join(", ", v.Select(p => $"{p.Key} {p.Value.ToString("G5", CultureInfo.InvariantCulture)}"))}");
        if (info.TrainingSeconds is { } t) cli.Out.WriteLine($"{"training time",-16} {t.ToString(CultureInfo.InvariantCulture)} s");
        if (info.Settings is { } s) cli.Out.WriteLine($"{"settings",-16} {string.Join(", ", s.Select(p => $"{p.Key}={p.Value}"))}");
        return 0;
    }

    /// <summary>A token model's memories of its own stream (docs/design.md), so that models of different versions can be told apart.</summary>
    private static string Memories(FrameLstm network) => string.Join(", ", new[]
    {
        "recent-token caches",
        network.SuccessorCache ? "successor cache" : null,
        network.PeriodicCopy ? "periodic copy" : null,
        network.BeatClock ? "beat clock" : null,
        network.OnsetTerm ? FormattableString.Invariant($"onset term (gain {network.OnsetGain:0.###})") : null,
        network.TextureInput ? "texture input" : null,
    }.OfType<string>());
}
