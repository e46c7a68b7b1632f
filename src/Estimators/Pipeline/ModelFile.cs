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
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        AtomicFile.Write(path, tmp => mlContext.Model.Save(model, inputSchema, tmp));
    }

    /// <summary>The schema a MusicGen pipeline is fitted on: one text column of paths.</summary>
    public static DataViewSchema PathSchema(string columnName = Estimators.AudioLoadingEstimator.Defaults.PathColumn)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(columnName, TextDataViewType.Instance);
        return builder.ToSchema();
    }

    /// <summary>Loads a pipeline saved by <see cref="Save"/> (or <c>mlContext.Model.Save</c>).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable ML.NET model; the message names it and says why.</exception>
    public static ITransformer Load(MLContext mlContext, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file", path);
        try
        {
            using (var zip = ZipFile.OpenRead(path)) _ = zip.Entries.Count;
        }
        catch (InvalidDataException)
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
            throw new InvalidDataException($"{Path.GetFileName(path)}: cannot load the model ({Innermost(e).Message.Split('\n')[0]})", e);
        }
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
