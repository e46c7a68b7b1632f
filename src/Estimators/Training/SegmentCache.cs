using MusicGen.Transforms.Batching;

namespace MusicGen.Estimators.Training;

/// <summary>
/// The training segments, read from the pipeline once and kept in memory when they fit in 256 MB (token models
/// always do), else read again every epoch.
/// </summary>
internal sealed class SegmentCache(Func<IEnumerable<SequenceSegment>> read)
{
    private const long MaxFloats = 64L << 20;
    private List<SequenceSegment>? cache;

    /// <summary>Reads every segment into memory if they fit, and returns their files in order (null when they do not fit).</summary>
    public IReadOnlyList<string>? Preload()
    {
        if (cache is not null) return cache.Select(s => s.File).ToList();
        var kept = new List<SequenceSegment>();
        long floats = 0;
        foreach (var segment in read())
        {
            floats += segment.Inputs.Length + (segment.Targets?.Length ?? 0);
            if (floats > MaxFloats) return null;
            kept.Add(segment);
        }
        cache = kept;
        return kept.Select(s => s.File).ToList();
    }

    /// <summary>The segments when they are all in memory; else null.</summary>
    public IReadOnlyList<SequenceSegment>? Loaded => cache;

    public IEnumerable<SequenceSegment> Read()
    {
        if (cache is not null)
        {
            foreach (var segment in cache) yield return segment;
            yield break;
        }
        var kept = new List<SequenceSegment>();
        long floats = 0;
        bool complete = true;
        foreach (var segment in read())
        {
            floats += segment.Inputs.Length + (segment.Targets?.Length ?? 0);
            if (floats <= MaxFloats) kept.Add(segment);
            else
            {
                complete = false;
                kept.Clear();
            }
            yield return segment;
        }
        if (complete) cache = kept;
    }
}
