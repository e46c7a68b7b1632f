using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Transforms.Data;

/// <summary>
/// A view that declares one variable-length float-vector column to have a fixed size (checked row by row), as a
/// DataFrame read back as an <see cref="IDataView"/> loses the size that normalizers and trainers need.
/// </summary>
internal sealed class FixedSizeVectorView : IDataView
{
    private readonly IDataView input;
    private readonly int column;
    private readonly int size;

    public FixedSizeVectorView(IDataView input, string columnName, int size)
    {
        var c = SchemaCheck.RequireFloatVector(input.Schema, columnName, knownSize: false);
        this.input = input;
        column = c.Index;
        this.size = size;
        var builder = new DataViewSchema.Builder();
        foreach (var col in input.Schema)
            builder.AddColumn(col.Name, col.Index == column ? new VectorDataViewType(NumberDataViewType.Single, size) : col.Type, col.Annotations);
        Schema = builder.ToSchema();
    }

    public bool CanShuffle => input.CanShuffle;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, input.GetRowCursor(columnsNeeded.Select(c => input.Schema[c.Index]), rand));

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(FixedSizeVectorView parent, DataViewRowCursor inner) : DataViewRowCursor
    {
        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => parent.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(parent.input.Schema[column.Index]);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var getter = inner.GetGetter<TValue>(parent.input.Schema[column.Index]);
            if (column.Index != parent.column) return getter;
            var vectorGetter = (ValueGetter<VBuffer<float>>)(object)getter;
            ValueGetter<VBuffer<float>> checkedGetter = (ref VBuffer<float> value) =>
            {
                vectorGetter(ref value);
                if (value.Length != parent.size)
                    throw new InvalidDataException($"Row {Position}: column '{column.Name}' has {value.Length} values, expected {parent.size}.");
            };
            return (ValueGetter<TValue>)(object)checkedGetter;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool MoveNext() => inner.MoveNext();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
