using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Estimators;

/// <summary>Schema-shape checks and columns shared by the estimators' <c>GetOutputSchema</c>.</summary>
internal static class SchemaShapes
{
    public static SchemaShape.Column Require(SchemaShape schema, string name, string expected, Func<SchemaShape.Column, bool> accept)
    {
        if (!schema.TryFindColumn(name, out var column))
            throw new ArgumentOutOfRangeException(nameof(schema), $"Column '{name}' not found; expected {expected}.");
        if (!accept(column))
            throw new ArgumentOutOfRangeException(nameof(schema), $"Column '{name}' is {column.Kind} of {column.ItemType}; expected {expected}.");
        return column;
    }

    public static void RequireText(SchemaShape schema, string name) =>
        Require(schema, name, "text", c => c.Kind == SchemaShape.Column.VectorKind.Scalar && c.ItemType is TextDataViewType);

    public static void RequireInt32(SchemaShape schema, string name) =>
        Require(schema, name, "Int32", c => c.Kind == SchemaShape.Column.VectorKind.Scalar && c.ItemType == NumberDataViewType.Int32);

    public static void RequireFloatVector(SchemaShape schema, string name) =>
        Require(schema, name, "a vector of Single", c => c.Kind != SchemaShape.Column.VectorKind.Scalar && c.ItemType == NumberDataViewType.Single);

    public static SchemaShape.Column Scalar(string name, DataViewType type) =>
        new(name, SchemaShape.Column.VectorKind.Scalar, type, false);

    public static SchemaShape.Column Vector(string name, bool knownSize) =>
        new(name, knownSize ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Single, false);

    /// <summary>A token column as the tokenizer writes it: a one-value vector annotated with <see cref="Transforms.Tokens.TokenAnnotations"/>.</summary>
    public static SchemaShape.Column TokenVector(string name) =>
        new(name, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, new SchemaShape(
        [
            Scalar(Transforms.Tokens.TokenAnnotations.TokenCountKind, NumberDataViewType.Int32),
            new SchemaShape.Column(Transforms.Tokens.TokenAnnotations.FrequenciesKind, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Int64, false),
            Scalar(Transforms.Tokens.TokenAnnotations.RepeatRateKind, NumberDataViewType.Double),
            Vector(Transforms.Tokens.TokenAnnotations.DescriptorsKind, knownSize: true),
        ]));

    /// <summary>The input's columns with <paramref name="added"/> appended (replacing same-named ones).</summary>
    public static SchemaShape Append(SchemaShape input, params SchemaShape.Column[] added)
    {
        var names = added.Select(a => a.Name).ToHashSet();
        return new SchemaShape(input.Where(c => !names.Contains(c.Name)).Concat(added));
    }

    /// <summary>Reads the first row's values of Int32 columns (one pass), or throws when the view has no rows.</summary>
    public static int[] FirstInt32(IDataView data, string what, params string[] columns)
    {
        var cols = columns.Select(c => data.Schema[c]).ToArray();
        using var cursor = data.GetRowCursor(cols);
        if (!cursor.MoveNext()) throw new InvalidOperationException($"There is no data to fit on: {what}.");
        var values = new int[cols.Length];
        for (int i = 0; i < cols.Length; i++) cursor.GetGetter<int>(cols[i])(ref values[i]);
        return values;
    }
}
