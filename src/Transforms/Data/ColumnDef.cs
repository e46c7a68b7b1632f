using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Transforms.Data;

/// <summary>One output column of a hand-written view: its name, type and how to read it from a row object.</summary>
/// <typeparam name="TRow">The row object the view enumerates.</typeparam>
internal sealed class ColumnDef<TRow>
{
    private ColumnDef(string name, DataViewType type, Func<Func<TRow>, Delegate> makeGetter, DataViewSchema.Annotations? annotations = null)
    {
        Name = name;
        Type = type;
        MakeGetter = makeGetter;
        Annotations = annotations;
    }

    public string Name { get; }

    public DataViewType Type { get; }

    /// <summary>Annotations the column carries (e.g. a token column's <see cref="Tokens.TokenAnnotations"/>), or null.</summary>
    public DataViewSchema.Annotations? Annotations { get; }

    /// <summary>The same column carrying <paramref name="annotations"/>.</summary>
    public ColumnDef<TRow> With(DataViewSchema.Annotations? annotations) => new(Name, Type, MakeGetter, annotations);

    /// <summary>Given a function that returns the cursor's current row, makes a <see cref="ValueGetter{TValue}"/>.</summary>
    public Func<Func<TRow>, Delegate> MakeGetter { get; }

    public static ColumnDef<TRow> Text(string name, Func<TRow, string> read) =>
        new(name, TextDataViewType.Instance, current => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = read(current()).AsMemory()));

    public static ColumnDef<TRow> Int32(string name, Func<TRow, int> read) =>
        new(name, NumberDataViewType.Int32, current => (ValueGetter<int>)((ref int v) => v = read(current())));

    public static ColumnDef<TRow> Single(string name, Func<TRow, float> read) =>
        new(name, NumberDataViewType.Single, current => (ValueGetter<float>)((ref float v) => v = read(current())));

    public static ColumnDef<TRow> Boolean(string name, Func<TRow, bool> read) =>
        new(name, BooleanDataViewType.Instance, current => (ValueGetter<bool>)((ref bool v) => v = read(current())));

    /// <summary>A float vector column; <paramref name="size"/> 0 means variable length.</summary>
    public static ColumnDef<TRow> Vector(string name, int size, Func<TRow, ReadOnlyMemory<float>> read) =>
        new(name, new VectorDataViewType(NumberDataViewType.Single, size), current => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
        {
            var source = read(current()).Span;
            var editor = VBufferEditor.Create(ref v, source.Length);
            source.CopyTo(editor.Values);
            v = editor.Commit();
        }));

    public static DataViewSchema Schema(IEnumerable<ColumnDef<TRow>> columns, DataViewSchema? prefix = null)
    {
        var builder = new DataViewSchema.Builder();
        if (prefix is not null) builder.AddColumns(prefix);
        foreach (var c in columns) builder.AddColumn(c.Name, c.Type, c.Annotations);
        return builder.ToSchema();
    }
}
