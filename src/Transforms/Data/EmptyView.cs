using Microsoft.ML;

namespace MusicGen.Transforms.Data;

/// <summary>A view with a schema and no rows, to compute output schemas.</summary>
internal sealed class EmptyView(DataViewSchema schema) : IDataView
{
    public bool CanShuffle => false;
    public DataViewSchema Schema => schema;
    public long? GetRowCount() => 0;
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        throw new InvalidOperationException("This view only describes a schema.");
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        throw new InvalidOperationException("This view only describes a schema.");
}
