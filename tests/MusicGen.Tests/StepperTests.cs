using MusicGen.Transforms.Network;
using MusicGen.Transforms.Torch;
using static TorchSharp.torch;

namespace MusicGen.Tests;

/// <summary>Generation's plain-loop step (<see cref="FrameLstmStepper"/>) against the network's own forward.</summary>
public class StepperTests
{
    [Theory]
    [InlineData(false, 1, false, false)]
    [InlineData(false, 3, false, false)]
    [InlineData(true, 2, false, false)]
    [InlineData(false, 2, true, false)]
    [InlineData(true, 3, true, true)]
    [InlineData(false, 2, false, false, true)]
    [InlineData(false, 2, false, false, false, true)]
    [InlineData(true, 3, true, false, true, true)]
    public void Stepping_in_plain_loops_gives_the_networks_outputs_and_guide(bool descriptorKeys, int streams, bool texture, bool holdTexture, bool holdBeat = false,
        bool onsetTerm = false)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        const int vocabulary = 24;
        var descriptors = Enumerable.Range(0, vocabulary * 5).Select(i => (float)Math.Cos(i * 0.7)).ToArray();
        var beat = Enumerable.Range(0, vocabulary * 6).Select(i => (float)Math.Abs(Math.Sin(i * 1.3))).ToArray();
        using var network = new FrameLstm(1, [16, 12], [0f, 0f], tokenCount: vocabulary, embeddingSize: 6,
            descriptors: descriptorKeys ? descriptors : null, successorCache: true, beatDescriptors: beat, textureInput: texture, onsetTerm: onsetTerm);
        using (no_grad())
        {
            using TorchSharp.Scalar half = 0.5f; // held for the calls (docs/design.md, "Scalars must outlive the call")
            foreach (var p in network.parameters()) p.copy_(randn_like(p).mul(half));
        }
        network.SetBackoff(Enumerable.Range(1, vocabulary).Select(i => (long)i).ToList(), 0.3, 0.2);
        network.eval();
        using var noGrad = no_grad();
        // LibTorch's own kernel, which generation runs: oneDNN's disagreed for these shapes on one CPU (OneDnn.LstmAgrees).
        using var plain = OneDnn.Scope(false);
        var rng = new Random(2);
        var prime = Enumerable.Range(0, 30 * streams).Select(_ => (float)rng.Next(vocabulary)).ToArray();
        var (_, state) = network.call(Tensors.Wrap(prime, 30, streams, 1), null);
        network.HoldTexture = holdTexture;
        network.HoldBeat = holdBeat;
        var stepper = network.Stepper(state) ?? throw new InvalidOperationException("no stepper");
        Assert.Equal(streams, stepper.Streams);
        for (int t = 0; t < 60; t++)
        {
            var tokens = Enumerable.Range(0, streams).Select(_ => rng.Next(vocabulary)).ToArray();
            var (output, next) = network.call(Tensors.Wrap(tokens.Select(v => (float)v).ToArray(), 1, streams, 1), state);
            state = next;
            var expected = Tensors.ToArray(output);
            var actual = stepper.Step(tokens);
            for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-4, $"step {t}, value {i}: {actual[i]} against {expected[i]}");
            var guide = Tensors.ToArray(state.OnsetGuide!);
            for (int i = 0; i < guide.Length; i++) Assert.True(Math.Abs(guide[i] - stepper.Guide![i]) < 1e-4, $"step {t}, guide {i}: {stepper.Guide![i]} against {guide[i]}");
            var clock = Tensors.ToArray(state.Clock!);
            for (int i = 0; i < clock.Length; i++) Assert.True(Math.Abs(clock[i] - stepper.Clock[i]) < 1e-4, $"step {t}, clock {i}: {stepper.Clock[i]} against {clock[i]}");
        }
    }

    [Fact]
    public void A_periodic_copy_has_no_stepper()
    {
        using var scope = NewDisposeScope();
        using var network = new FrameLstm(1, [8], [0f], tokenCount: 10, embeddingSize: 4, periodicCopy: true);
        network.eval();
        using var noGrad = no_grad();
        var (_, state) = network.call(Tensors.Wrap([1f, 2f, 3f], 3, 1, 1), null);
        Assert.Null(network.Stepper(state));
    }
}
