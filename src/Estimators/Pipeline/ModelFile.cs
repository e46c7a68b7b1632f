using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms;
using MusicGen.Transforms.IO;

namespace MusicGen;

/// <summary>Saving and loading fitted pipelines with ML.NET's own format, safely.</summary>
public static class ModelFile
{
    /// <summary>
    /// Saves <paramref name="model"/> with <c>mlContext.Model.Save</c>, to a temporary file beside
    /// <paramref name="path"/> that is then renamed over it, so an interrupted save never leaves a broken model.
    /// </summary>
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string path) =>
        Save(mlContext, model, inputSchema, path, null);

    /// <summary>Saves <paramref name="model"/> as <see cref="Save(MLContext, ITransformer, DataViewSchema, string)"/> does, with <paramref name="info"/> inside.</summary>
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string path, ModelInfo? info)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        AtomicFile.Write(path, tmp =>
        {
            mlContext.Model.Save(model, inputSchema, tmp);
            info?.WriteInto(tmp);
        });
    }

    /// <summary>The schema a MusicGen pipeline is fitted on: one text column of paths.</summary>
    public static DataViewSchema PathSchema(string columnName = Estimators.AudioLoadingEstimator.Defaults.PathColumn)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(columnName, TextDataViewType.Instance);
        return builder.ToSchema();
    }

    /// <summary>Loads a pipeline saved by <see cref="Save(MLContext, ITransformer, DataViewSchema, string)"/> (or <c>mlContext.Model.Save</c>).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable ML.NET model; the message names it and says why.</exception>
    public static ITransformer Load(MLContext mlContext, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file", path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            // Every entry's content against the CRC-32 the zip recorded for it: a damaged model is refused, never loaded.
            foreach (var entry in zip.Entries)
            {
                using var content = entry.Open();
                if (Crc32(content) != entry.Crc32)
                    throw new InvalidDataException($"{Path.GetFileName(path)}: damaged model ({entry.FullName} fails its checksum)");
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(Path.GetFileName(path) + ": damaged model", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{Path.GetFileName(path)}: not a model file (not a zip archive, or a damaged one)");
        }
        try
        {
            return mlContext.Model.Load(path, out _);
        }
        catch (Exception e) when (Innermost(e) is InvalidOperationException or FormatException or InvalidDataException or EndOfStreamException
                                      or ArgumentException or IOException)
        {
            // ML.NET wraps a loader's exception in reflection's TargetInvocationException, sometimes twice.
            throw new InvalidDataException($"{Path.GetFileName(path)}: cannot load the model ({Printable(Innermost(e).Message.Split('\n')[0])})", e);
        }
    }

    /// <summary>A message cut to one readable line: bytes of a damaged file read as text become '?', at most 160 characters.</summary>
    private static string Printable(string message)
    {
        var text = new string(message.Select(c => char.IsControl(c) || c == '\uFFFD' ? '?' : c).ToArray());
        return text.Length <= 160 ? text : text[..157] + "...";
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>The CRC-32 (the zip format's, polynomial 0xEDB88320) of a stream's content.</summary>
    internal static uint Crc32(Stream stream)
    {
        uint crc = 0xFFFFFFFFu;
        var buffer = new byte[1 << 16];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            for (int i = 0; i < n; i++) crc = CrcTable[(crc ^ buffer[i]) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    private static Exception Innermost(Exception e)
    {
        while (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) e = inner;
        return e;
    }

    /// <summary>The stages of a fitted pipeline, in order, looking inside nested transformer chains.</summary>
    public static IEnumerable<ITransformer> Stages(ITransformer model)
    {
        if (model is IEnumerable<ITransformer> chain)
        {
            foreach (var t in chain)
                foreach (var inner in Stages(t)) yield return inner;
        }
        else
        {
            yield return model;
        }
    }
}
