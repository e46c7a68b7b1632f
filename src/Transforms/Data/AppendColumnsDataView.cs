using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Transforms.Data;

/// <summary>
/// The input view with columns added. The added values come from a second, parallel enumeration over the same
/// input (so a stage can look ahead, e.g. a recurrent network that runs a whole file at once), one state per input
/// row in input order. Refuses shuffling, so the two passes agree.
/// </summary>
internal sealed class AppendColumnsDataView<TState> : IDataView
{
    private readonly IDataView input;
    private readonly ColumnDef<TState>[] added;
    private readonly Func<IEnumerable<TState>> states;

    public AppendColumnsDataView(IDataView input, IReadOnlyList<ColumnDef<TState>> added, Func<IEnumerable<TState>> states)
    {
        this.input = input;
        this.added = added.ToArray();
        this.states = states;
        Schema = ColumnDef<TState>.Schema(this.added, input.Schema);
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.ToArray());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly AppendColumnsDataView<TState> parent;
        private readonly DataViewRowCursor inner;
        private readonly IEnumerator<TState>? states;
        private readonly bool[] active;
        private readonly Delegate?[] addedGetters;
        private TState? current;
        private bool hasCurrent;

        public Cursor(AppendColumnsDataView<TState> parent, DataViewSchema.Column[] needed)
        {
            this.parent = parent;
            int inputCount = parent.input.Schema.Count;
            active = new bool[parent.Schema.Count];
            foreach (var c in needed) active[c.Index] = true;
            var innerNeeded = parent.input.Schema.Where(c => active[c.Index]);
            inner = parent.input.GetRowCursor(innerNeeded);
            bool anyAdded = active.Skip(inputCount).Any(a => a);
            states = anyAdded ? parent.states().GetEnumerator() : null;
            addedGetters = parent.added.Select(a => (Delegate?)a.MakeGetter(Current)).ToArray();
        }

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => parent.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!active[column.Index]) throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            int inputCount = parent.input.Schema.Count;
            if (column.Index < inputCount) return inner.GetGetter<TValue>(parent.input.Schema[column.Index]);
            return addedGetters[column.Index - inputCount] as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool MoveNext()
        {
            if (!inner.MoveNext()) return false;
            if (states is not null)
            {
                if (!states.MoveNext())
                    throw new InvalidOperationException("The added columns ended before the input did.");
                current = states.Current;
                hasCurrent = true;
            }
            return true;
        }

        private TState Current() => hasCurrent ? current! : throw new InvalidOperationException("The cursor is not on a row.");

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                states?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
