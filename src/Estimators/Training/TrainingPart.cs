using MusicGen.Transforms.Batching;
using static TorchSharp.torch;

namespace MusicGen.Estimators.Training;

/// <summary>
/// How a segment of <c>AllSteps</c> x <c>AllStreams</c> rows splits between training and validation (see
/// <see cref="HoldOut.Held"/>): the first <see cref="Steps"/> steps of the first <see cref="Streams"/> streams are
/// trained on; the rest is held out (<see cref="EndStreams"/>), either the end steps of every stream (validation continues the trained state) or
/// every step of the end streams (validation starts from zeros, as those streams do in training).
/// </summary>
internal readonly record struct TrainingPart(int Steps, int Streams, int HeldSteps, int HeldStreams, bool EndStreams)
{
    public static TrainingPart Of(SequenceSegment segment, HoldOut holdOut)
    {
        var (steps, streams) = holdOut.Held(segment.File, segment.Steps, segment.Streams);
        return streams > 0 && streams < segment.Streams
            ? new(segment.Steps, segment.Streams - streams, steps, streams, EndStreams: true)
            : new(segment.Steps - steps, segment.Streams, steps, segment.Streams, EndStreams: false);
    }

    /// <summary>Frames trained on.</summary>
    public long Frames => (long)Steps * Streams;

    /// <summary>Whether anything is held out.</summary>
    public bool Validates => HeldSteps > 0 && HeldStreams > 0;

    /// <summary>Whether the held-out rows continue the trained streams (end steps), so validation starts from their state.</summary>
    public bool ValidationContinues => !EndStreams;

    /// <summary>The trained rows of [steps, streams, ...] <paramref name="inputs"/> and <paramref name="targets"/>.</summary>
    public (Tensor Inputs, Tensor Targets) Train(Tensor inputs, Tensor targets) => ValidationContinues
        ? (inputs.narrow(0, 0, Steps), targets.narrow(0, 0, Steps))
        : (inputs.narrow(1, 0, Streams).contiguous(), targets.narrow(1, 0, Streams).contiguous());

    /// <summary>The held-out rows of [steps, streams, ...] <paramref name="inputs"/> and <paramref name="targets"/>.</summary>
    public (Tensor Inputs, Tensor Targets) HeldOut(Tensor inputs, Tensor targets) => ValidationContinues
        ? (inputs.narrow(0, Steps, HeldSteps), targets.narrow(0, Steps, HeldSteps))
        : (inputs.narrow(1, Streams, HeldStreams).contiguous(), targets.narrow(1, Streams, HeldStreams).contiguous());

    /// <summary>The trained rows' inputs, time-major ([steps, streams, <paramref name="size"/>] flattened).</summary>
    public float[] TrainingInputs(SequenceSegment segment, int size)
    {
        int all = EndStreams ? Streams + HeldStreams : Streams;
        if (!EndStreams) return segment.Inputs.AsSpan(0, Steps * Streams * size).ToArray();
        var kept = new float[(long)Steps * Streams * size];
        for (int k = 0; k < Steps; k++)
            segment.Inputs.AsSpan(k * all * size, Streams * size).CopyTo(kept.AsSpan(k * Streams * size));
        return kept;
    }
}
