using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Transforms.Data;

/// <summary>
/// Shared plumbing of the MusicGen transformers: they return new views (one-to-many or order-dependent), so they are
/// not row-to-row mappers, and each saves itself through ML.NET's model context.
/// </summary>
public abstract class MusicGenTransformerBase : ITransformer
{
    /// <summary>Always false: these stages look across rows.</summary>
    public bool IsRowToRowMapper => false;

    /// <summary>Not supported: these stages look across rows.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new InvalidOperationException($"{GetType().Name} looks across rows and cannot map one row at a time.");

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

    private protected static VersionInfo MakeVersion(string modelSignature, string loaderSignature, Type type) =>
        new(modelSignature: modelSignature, verWrittenCur: 0x00010001, verReadableCur: 0x00010001,
            verWeCanReadBack: 0x00010001, loaderSignature: loaderSignature, loaderAssemblyName: type.Assembly.GetName().Name);
}
