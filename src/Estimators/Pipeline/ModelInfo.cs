using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MusicGen;

/// <summary>
/// What a model is, saved inside its zip (entry <c>MusicGen/info.json</c>) beside ML.NET's own entries: which version
/// of MusicGen trained it, when, with which preset and settings, on what, for how long and how well it validated.
/// </summary>
public sealed record ModelInfo
{
    /// <summary>The zip entry that holds it.</summary>
    public const string EntryName = "MusicGen/info.json";

    /// <summary>MusicGen's version that saved the model.</summary>
    public string Version { get; init; } = typeof(ModelInfo).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>When it was saved (UTC).</summary>
    public DateTime SavedUtc { get; init; } = DateTime.UtcNow;

    /// <summary>The preset it was built from ("default", "seed2017"), or null.</summary>
    public string? Preset { get; init; }

    /// <summary>The settings that differ from nothing in particular: every option as given, by name.</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }

    /// <summary>The training files, by name.</summary>
    public IReadOnlyList<string>? TrainingFiles { get; init; }

    /// <summary>Files left out of training because they could not be decoded.</summary>
    public IReadOnlyList<string>? SkippedFiles { get; init; }

    /// <summary>Epochs trained.</summary>
    public int? Epochs { get; init; }

    /// <summary>The epoch whose weights were kept (the best validation loss), when validating.</summary>
    public int? BestEpoch { get; init; }

    /// <summary>That epoch's validation figures (loss, and both baselines, with their names).</summary>
    public IReadOnlyDictionary<string, double>? Validation { get; init; }

    /// <summary>Training time, seconds.</summary>
    public double? TrainingSeconds { get; init; }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The info as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Adds (or replaces) the info entry of the model zip at <paramref name="path"/>.</summary>
    public void WriteInto(string path)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        zip.GetEntry(EntryName)?.Delete();
        using var writer = new StreamWriter(zip.CreateEntry(EntryName).Open());
        writer.Write(ToJson());
    }

    /// <summary>The info saved in the model zip at <paramref name="path"/>, or null when it has none (an older model).</summary>
    /// <exception cref="InvalidDataException">The entry is there but cannot be read.</exception>
    public static ModelInfo? ReadFrom(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        if (zip.GetEntry(EntryName) is not { } entry) return null;
        using var reader = new StreamReader(entry.Open());
        try
        {
            return JsonSerializer.Deserialize<ModelInfo>(reader.ReadToEnd(), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{Path.GetFileName(path)}: its {EntryName} cannot be read ({e.Message})", e);
        }
    }
}
