using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Transforms.Data;

/// <summary>
/// The input view plus one float-vector column computed row by row from an input float-vector column (of the same
/// size unless told), in the same cursor (no second pass). A column of the same name in the input is hidden, as ML.NET does.
/// </summary>
internal sealed class MappedColumnDataView : IDataView
{
    private readonly IDataView input;
    private readonly DataViewSchema.Column source;
    private readonly SpanMap map;
    private readonly int outputSize;

    public delegate void SpanMap(ReadOnlySpan<float> input, Span<float> output);

    public MappedColumnDataView(IDataView input, string sourceColumn, string outputColumn, SpanMap map, int? outputSize = null,
        DataViewSchema.Annotations? annotations = null)
    {
        this.input = input;
        this.map = map;
        source = SchemaCheck.RequireFloatVector(input.Schema, sourceColumn, knownSize: true);
        this.outputSize = outputSize ?? SchemaCheck.VectorSize(source);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input.Schema);
        builder.AddColumn(outputColumn, new VectorDataViewType(NumberDataViewType.Single, this.outputSize), annotations);
        Schema = builder.ToSchema();
    }

    public bool CanShuffle => input.CanShuffle;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.ToArray(), rand);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly MappedColumnDataView parent;
        private readonly DataViewRowCursor inner;
        private readonly bool[] active;
        private readonly int outputIndex;

        public Cursor(MappedColumnDataView parent, DataViewSchema.Column[] needed, Random? rand)
        {
            this.parent = parent;
            outputIndex = parent.Schema.Count - 1;
            active = new bool[parent.Schema.Count];
            foreach (var c in needed) active[c.Index] = true;
            var innerNeeded = parent.input.Schema.Where(c => active[c.Index] || (active[outputIndex] && c.Index == parent.source.Index));
            inner = parent.input.GetRowCursor(innerNeeded, rand);
        }

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => parent.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!active[column.Index]) throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            if (column.Index != outputIndex) return inner.GetGetter<TValue>(parent.input.Schema[column.Index]);
            var get = inner.GetGetter<VBuffer<float>>(parent.source);
            VBuffer<float> buffer = default;
            ValueGetter<VBuffer<float>> mapped = (ref VBuffer<float> value) =>
            {
                get(ref buffer);
                var dense = buffer.DenseValues().ToArray();
                var editor = VBufferEditor.Create(ref value, parent.outputSize);
                parent.map(dense, editor.Values);
                value = editor.Commit();
            };
            return mapped as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
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
