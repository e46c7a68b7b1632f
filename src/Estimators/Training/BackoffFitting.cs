using MusicGen.Transforms.Network;
using MusicGen.Transforms.Tokens;
using MusicGen.Transforms.Torch;
using static TorchSharp.torch;

namespace MusicGen.Estimators.Training;

/// <summary>
/// Fits a token model's backoff weight (see <see cref="FrameLstm.SetBackoff"/>) on the held-out rows (<see cref="HoldOut"/>): the weight in
/// 0, 0.01, ..., 0.99 with the lowest cross-entropy of the interpolation of the network with "repeat or unigram"
/// (0 when the network alone is best).
/// </summary>
internal static class BackoffFitting
{
    public static void Fit(FrameLstm network, IEnumerable<Transforms.Batching.SequenceSegment> segments, HoldOut holdOut, TokenAnnotations tokens)
    {
        network.SetBackoff(tokens.Frequencies, tokens.RepeatRate, 0);
        var baseline = new RepeatOrUnigram(tokens.Frequencies, tokens.RepeatRate);
        var model = new List<double>();
        var backoff = new List<double>();
        using var noGrad = no_grad();
        network.eval();
        foreach (var segment in segments)
        {
            var part = TrainingPart.Of(segment, holdOut);
            if (!part.Validates) continue;
            using var scope = NewDisposeScope();
            var inputs = Tensors.Wrap(segment.Inputs, segment.Steps, segment.Streams, 1);
            var targets = Tensors.Wrap(segment.Targets!, segment.Steps, segment.Streams, 1);
            var (heldInputs, heldTargets) = part.HeldOut(inputs, targets);
            LstmState? state = part.ValidationContinues && part.Steps > 0 ? network.call(part.Train(inputs, targets).Inputs, null).State : null;
            var logProbs = nn.functional.log_softmax(network.call(heldInputs, state).Output, -1);
            var picked = Tensors.ToArray(logProbs.gather(-1, heldTargets.to_type(ScalarType.Int64)));
            float[] previous = Tensors.ToArray(heldInputs), next = Tensors.ToArray(heldTargets);
            for (int i = 0; i < picked.Length; i++)
            {
                model.Add(Math.Exp(picked[i]));
                backoff.Add(baseline.Probability((int)previous[i], (int)next[i]));
            }
        }
        if (model.Count == 0) return;
        double CrossEntropy(double w) => -Enumerable.Range(0, model.Count).Average(i => Math.Log((1 - w) * model[i] + w * backoff[i]));
        double best = Enumerable.Range(0, 100).Select(i => i / 100.0).MinBy(CrossEntropy);
        network.SetBackoff(tokens.Frequencies, tokens.RepeatRate, best);
        network.BackoffFit = (CrossEntropy(0), CrossEntropy(best), -backoff.Average(Math.Log));
    }
}
