using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Transforms.Data;

/// <summary>
/// A lazy, order-preserving view over rows produced by an enumeration, re-enumerated on every cursor. Used by the
/// one-to-many and reordering stages; it refuses shuffling and parallel cursors, since order carries meaning.
/// </summary>
internal sealed class RowsDataView<TRow> : IDataView
{
    private readonly ColumnDef<TRow>[] columns;
    private readonly Func<IEnumerable<TRow>> rows;

    public RowsDataView(IReadOnlyList<ColumnDef<TRow>> columns, Func<IEnumerable<TRow>> rows)
    {
        this.columns = columns.ToArray();
        this.rows = rows;
        Schema = ColumnDef<TRow>.Schema(this.columns);
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly RowsDataView<TRow> parent;
        private readonly IEnumerator<TRow> rows;
        private readonly bool[] active;
        private readonly Delegate[] getters;
        private TRow? current;
        private long position = -1;

        public Cursor(RowsDataView<TRow> parent, IEnumerable<DataViewSchema.Column> needed)
        {
            this.parent = parent;
            rows = parent.rows().GetEnumerator();
            active = new bool[parent.columns.Length];
            foreach (var c in needed) active[c.Index] = true;
            getters = parent.columns.Select(c => c.MakeGetter(Current)).ToArray();
        }

        public override long Position => position;

        public override long Batch => 0;

        public override DataViewSchema Schema => parent.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!active[column.Index]) throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            return getters[column.Index] as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)position, 0);

        public override bool MoveNext()
        {
            if (!rows.MoveNext())
            {
                current = default;
                return false;
            }
            current = rows.Current;
            position++;
            return true;
        }

        private TRow Current() => position >= 0 && current is not null ? current : throw new InvalidOperationException("The cursor is not on a row.");

        protected override void Dispose(bool disposing)
        {
            if (disposing) rows.Dispose();
            base.Dispose(disposing);
        }
    }
}
