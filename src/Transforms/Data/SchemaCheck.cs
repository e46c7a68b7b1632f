using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Transforms.Data;

/// <summary>Column checks shared by the transformers, with messages that name the column, the expected and actual type.</summary>
internal static class SchemaCheck
{
    public static DataViewSchema.Column Require(DataViewSchema schema, string name, string expected, Func<DataViewType, bool> accept)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Column '{name}' not found; expected {expected}. Columns present: {string.Join(", ", schema.Select(c => c.Name))}.");
        if (!accept(column.Type))
            throw new ArgumentOutOfRangeException(nameof(schema), $"Column '{name}' is {column.Type}; expected {expected}.");
        return column;
    }

    public static DataViewSchema.Column RequireText(DataViewSchema schema, string name) =>
        Require(schema, name, "text", t => t is TextDataViewType);

    public static DataViewSchema.Column RequireInt32(DataViewSchema schema, string name) =>
        Require(schema, name, "Int32", t => t == NumberDataViewType.Int32);

    public static DataViewSchema.Column RequireFloatVector(DataViewSchema schema, string name, bool knownSize) =>
        Require(schema, name, knownSize ? "a vector of Single of known size" : "a vector of Single",
            t => t is VectorDataViewType v && v.ItemType == NumberDataViewType.Single && (!knownSize || v.IsKnownSize));

    public static int VectorSize(DataViewSchema.Column column) => ((VectorDataViewType)column.Type).Size;
}
