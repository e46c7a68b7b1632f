using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Transforms.Data;

/// <summary>
/// Shared plumbing of the MusicGen transformers: they return new views (one-to-many or order-dependent), so they are
/// not row-to-row mappers, and each saves itself through ML.NET's model context.
/// </summary>
public abstract class MusicGenTransformerBase : ITransformer
{
    /// <summary>
    /// True, though these stages look across rows: ML.NET asks this before making a PredictionEngine and would
    /// otherwise refuse with its own words ("Must be a row to row mapper"); answering true lets
    /// <see cref="GetRowToRowMapper"/> refuse instead, saying what to use. Saving, loading and Transform do not ask it (tested).
    /// </summary>
    public bool IsRowToRowMapper => true;

    /// <summary>Not supported: these stages look across rows; the message points to <c>MusicGenerator</c> and <c>Transform</c>.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new InvalidOperationException($"{GetType().Name} looks across rows (a whole file, or a stream of frames) and cannot map one row at a " +
            "time, so a PredictionEngine cannot run a MusicGen pipeline: generate with new MusicGenerator(model).Generate(seedPath), or read the " +
            "columns of model.Transform(data).");

    /// <summary>The schema <see cref="Transform"/> returns for an input of <paramref name="inputSchema"/>.</summary>
    public abstract DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>Applies the stage lazily: nothing is read until a cursor moves.</summary>
    public abstract IDataView Transform(IDataView input);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ctx.CheckAtModel();
        ctx.SetVersionInfo(VersionInfo);
        SaveModel(ctx.Writer, ctx);
    }

    private protected abstract VersionInfo VersionInfo { get; }

    private protected abstract void SaveModel(BinaryWriter writer, ModelSaveContext ctx);

    /// <summary>
    /// The version information a stage saves: format <paramref name="format"/> (each stage numbers its own formats from
    /// 1; docs/formats.md has every stage's history), readable by code of that format or later, and reading back
    /// formats from <paramref name="oldestReadable"/> on.
    /// </summary>
    private protected static VersionInfo MakeVersion(string modelSignature, string loaderSignature, Type type, int format = 1, int oldestReadable = 1) =>
        new(modelSignature: modelSignature, verWrittenCur: FormatBase + (uint)format, verReadableCur: FormatBase + (uint)format,
            verWeCanReadBack: FormatBase + (uint)oldestReadable, loaderSignature: loaderSignature, loaderAssemblyName: type.Assembly.GetName().Name);

    private const uint FormatBase = 0x00010000;

    /// <summary>
    /// Checks that the stage being loaded is one this version reads and returns its format number, or says plainly
    /// that the model was saved by an older or newer MusicGen (instead of ML.NET's version message, or reading an old
    /// layout as if it were damaged).
    /// </summary>
    /// <exception cref="InvalidDataException">The stage's format is older or newer than this version reads.</exception>
    private protected static int CheckFormat(ModelLoadContext ctx, VersionInfo version, string stage)
    {
        uint written = ctx.Header.ModelVerWritten, readable = ctx.Header.ModelVerReadable;
        if (ctx.Header.ModelSignature == version.ModelSignature)
        {
            if (written < version.VerWeCanReadBack)
                throw new InvalidDataException($"its {stage} stage was saved by an older version of MusicGen (format {written - FormatBase}; " +
                    $"this version reads formats {version.VerWeCanReadBack - FormatBase} to {version.VerWrittenCur - FormatBase}): retrain the model with this version");
            if (readable > version.VerWrittenCur)
                throw new InvalidDataException($"its {stage} stage was saved by a newer version of MusicGen (format {written - FormatBase}; " +
                    $"this version reads formats up to {version.VerWrittenCur - FormatBase}): update MusicGen to load it");
        }
        ctx.CheckAtModel(version);
        return (int)(written - FormatBase);
    }
}
