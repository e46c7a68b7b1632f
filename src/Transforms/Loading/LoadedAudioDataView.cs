using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Data;

namespace MusicGen.Transforms;

/// <summary>
/// The loader's output: the input's rows with each file's samples, sample rate and channel count appended. Every file
/// is decoded at most once per view: a fit passes over the same view several times (listing the files, fitting each
/// stage), and all of them share the clips decoded on the first pass, up to the loader's cache budget. With
/// <see cref="AudioLoadingTransformer.SkipUnreadable"/> the rows of files that cannot be decoded are left out (each
/// reported once); otherwise the first such file stops the pass with its error. Refuses shuffling.
/// </summary>
internal sealed class LoadedAudioDataView : IDataView
{
    private readonly IDataView input;
    private readonly AudioLoadingTransformer loader;
    private readonly DataViewSchema.Column pathColumn;
    private readonly BoundedCache<(string File, int Segment), Decoded> clips;
    private readonly HashSet<string> reported = [];

    public LoadedAudioDataView(IDataView input, AudioLoadingTransformer loader, DataViewSchema.Column pathColumn, DataViewSchema schema)
    {
        this.input = input;
        this.loader = loader;
        this.pathColumn = pathColumn;
        Schema = schema;
        clips = new BoundedCache<(string, int), Decoded>(loader.CacheBytes, d => d.Clip is { } c ? (long)c.Length * c.ChannelCount * sizeof(float) : 0);
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => loader.SkipUnreadable || loader.SegmentSeconds > 0 ? null : input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.ToArray());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    /// <summary>A file's clip at the loader's rate and channels, or why it could not be decoded.</summary>
    private sealed record Decoded(AudioClip? Clip, InvalidDataException? Error);

    /// <summary>Segment <paramref name="segment"/> of a file (the whole file when segments are off), or why it could not be decoded.</summary>
    private Decoded Decode(string path, int segment)
    {
        double length = loader.SegmentSeconds;
        var decoded = clips.GetOrAdd((path, segment), key =>
        {
            try
            {
                return new Decoded(length > 0 ? loader.Load(key.File, key.Segment * length, length) : loader.Load(key.File), null);
            }
            catch (InvalidDataException e)
            {
                return new Decoded(null, e);
            }
        });
        var warning = decoded.Error is { } error ? loader.SkipUnreadable ? new LoadWarning(path, $"skipping {error.Message}", Skipped: true) : null
            : decoded.Clip!.Warning is { } message ? new LoadWarning(path, message, Skipped: false) : null;
        if (warning is not null) Report(warning, path);
        return decoded;
    }

    /// <summary>Passes <paramref name="warning"/> on the first time this view meets <paramref name="key"/>.</summary>
    private void Report(LoadWarning warning, string key)
    {
        lock (reported)
        {
            if (reported.Add(key)) loader.Warning?.Invoke(warning);
        }
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly LoadedAudioDataView parent;
        private readonly DataViewRowCursor inner;
        private readonly bool[] active;
        private readonly bool decode;
        private readonly ValueGetter<ReadOnlyMemory<char>> getPath;
        private readonly int inputCount;
        private AudioClip? current;
        private ReadOnlyMemory<float>? planar;
        private long position = -1;
        private string? segmentedFile; // the file whose next segment comes before the next input row
        private int segment;
        private int skipped;
        private InvalidDataException? firstError;

        public Cursor(LoadedAudioDataView parent, DataViewSchema.Column[] needed)
        {
            this.parent = parent;
            inputCount = parent.input.Schema.Count;
            active = new bool[parent.Schema.Count];
            foreach (var c in needed) active[c.Index] = true;
            // Skipping needs every file decoded to know whether its row exists; otherwise only rows whose samples are read.
            decode = parent.loader.SkipUnreadable || active.Skip(inputCount).Any(a => a);
            inner = parent.input.GetRowCursor(parent.input.Schema.Where(c => active[c.Index] || c.Index == parent.pathColumn.Index));
            getPath = inner.GetGetter<ReadOnlyMemory<char>>(parent.pathColumn);
        }

        public override long Position => position;

        public override long Batch => 0;

        public override DataViewSchema Schema => parent.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!active[column.Index]) throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            if (column.Index < inputCount) return inner.GetGetter<TValue>(parent.input.Schema[column.Index]);
            Delegate getter = (column.Index - inputCount) switch
            {
                0 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
                {
                    var samples = planar ??= Planar(Current());
                    var editor = VBufferEditor.Create(ref v, samples.Length);
                    samples.Span.CopyTo(editor.Values);
                    v = editor.Commit();
                }),
                1 => (ValueGetter<int>)((ref int v) => v = Current().SampleRate),
                _ => (ValueGetter<int>)((ref int v) => v = Current().ChannelCount),
            };
            return getter as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }

        private AudioClip Current() => current ?? throw new InvalidOperationException("The cursor is not on a row.");

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool MoveNext()
        {
            // The rest of a long file first: segment after segment until one comes back shorter than a whole one.
            if (segmentedFile is { } file && NextSegment(file)) return true;
            ReadOnlyMemory<char> path = default;
            while (inner.MoveNext())
            {
                if (!decode)
                {
                    position++;
                    return true;
                }
                getPath(ref path);
                string name = path.ToString();
                var decoded = parent.Decode(name, 0);
                if (decoded.Error is { } error)
                {
                    if (!parent.loader.SkipUnreadable) throw error;
                    skipped++;
                    firstError ??= error;
                    continue;
                }
                segment = 0;
                segmentedFile = Whole(decoded.Clip!) ? name : null;
                current = decoded.Clip;
                planar = null;
                position++;
                return true;
            }
            if (position < 0 && skipped > 0)
                throw new InvalidDataException($"No readable audio files: none of the {skipped} file(s) could be decoded (the first, {firstError!.Message}).");
            return false;
        }

        /// <summary>Whether a segment came back whole, so that the file may go on after it.</summary>
        private bool Whole(AudioClip clip) =>
            parent.loader.SegmentSeconds > 0 && clip.Length >= (long)Math.Floor(parent.loader.SegmentSeconds * clip.SampleRate) - 1;

        /// <summary>Moves onto the next segment of <paramref name="file"/>; false at its end.</summary>
        private bool NextSegment(string file)
        {
            segmentedFile = null;
            var decoded = parent.Decode(file, segment + 1);
            if (decoded.Error is { } ended && ExternalDecoder.IsPastEnd(ended)) return false; // the last segment was exactly whole
            if (decoded.Error is { } error)
            {
                // The file's start decoded; a later piece that does not is reported (once per view) and the file ends there.
                parent.Report(new LoadWarning(file, $"{Path.GetFileName(file)}: stopped after {(segment + 1) * parent.loader.SegmentSeconds:F0} s ({error.Message})", Skipped: false),
                    $"{file}#{segment + 1}");
                return false;
            }
            if (decoded.Clip!.Length == 0) return false;
            segment++;
            if (Whole(decoded.Clip)) segmentedFile = file;
            current = decoded.Clip;
            planar = null;
            position++;
            return true;
        }

        private static ReadOnlyMemory<float> Planar(AudioClip clip)
        {
            if (clip.ChannelCount == 1) return clip.Channels[0];
            var all = new float[clip.Length * clip.ChannelCount];
            for (int c = 0; c < clip.ChannelCount; c++) clip.Channels[c].CopyTo(all, c * clip.Length);
            return all;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>A file the loader skipped, or decoded with a warning (a truncated WAV).</summary>
/// <param name="File">The file's path.</param>
/// <param name="Message">One line naming the file and the cause.</param>
/// <param name="Skipped">Whether the file was left out (it could not be decoded).</param>
public sealed record LoadWarning(string File, string Message, bool Skipped);
