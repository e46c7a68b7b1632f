using TorchSharp;
using MusicGen.Estimators.Training;
using MusicGen.Transforms.Network;
using MusicGen.Transforms.Torch;
using static TorchSharp.torch;

namespace MusicGen.Tests;

/// <summary>The token model's stream memories: the successor cache, the periodic copy, the beat clock and its onset guide, and the baseline start.</summary>
public class NetworkCacheTests
{
    private static Tensor Tokens(int[] tokens, int streams = 1) =>
        tensor(tokens.Select(t => (float)t).ToArray(), [tokens.Length / streams, streams, 1]);

    [Fact]
    public void Successor_counts_say_what_followed_the_current_token_before()
    {
        using var scope = NewDisposeScope();
        int[] sequence = [0, 1, 0, 2, 0];
        var onehot = nn.functional.one_hot(tensor(sequence.Select(t => (long)t).ToArray()).unsqueeze(1), 3).to_type(ScalarType.Float32);
        var counts = Tensors.ToArray(FrameLstm.SuccessorCounts(onehot, null, out var table)); // [5, 1, 3]
        Assert.Equal([0f, 0f, 0f], counts.AsSpan(0, 3).ToArray());   // step 0: nothing followed 0 yet
        Assert.Equal([0f, 1f, 0f], counts.AsSpan(6, 3).ToArray());   // step 2 (token 0): 1 followed 0 once
        Assert.Equal([0f, 1f, 1f], counts.AsSpan(12, 3).ToArray());  // step 4 (token 0): 1 once, then 2 once
        var pairs = Tensors.ToArray(table);                           // row a, column b: b after a
        Assert.Equal(1f, pairs[0 * 3 + 1]);
        Assert.Equal(1f, pairs[0 * 3 + 2]);
        Assert.Equal(1f, pairs[1 * 3 + 0]);
        Assert.Equal(1f, pairs[2 * 3 + 0]);
        Assert.Equal(4f, pairs.Sum());
    }

    [Fact]
    public void Periodic_copy_finds_the_period_and_proposes_what_came_one_period_ago()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        const int period = 23, vocabulary = 40;
        var rng = new Random(3);
        var bar = Enumerable.Range(0, period).Select(_ => rng.Next(vocabulary)).ToArray();
        var sequence = Enumerable.Range(0, 300).Select(t => bar[t % period]).ToArray();
        using var network = new FrameLstm(1, [8], [0f], tokenCount: vocabulary, embeddingSize: 4, periodicCopy: true);
        var tokens = tensor(sequence.Select(t => (long)t).ToArray()).unsqueeze(1);
        var (copy, _, rates) = network.PeriodCopy(tokens, null);
        var proposal = Tensors.ToArray(copy);
        int hits = 0, checkedSteps = 0;
        for (int t = 200; t < 299; t++)
        {
            var row = proposal.AsSpan(t * vocabulary, vocabulary);
            int best = row.IndexOf(row.ToArray().Max());
            checkedSteps++;
            if (best == sequence[t + 1] && row[best] > 0.9f) hits++;
        }
        Assert.Equal(checkedSteps, hits);
        var lastRates = Tensors.ToArray(rates);
        int bestLag = Array.IndexOf(lastRates, lastRates.Max()) + FrameLstm.CopyLags.Shortest;
        Assert.True(bestLag % period == 0, $"the strongest lag is {bestLag}, not a multiple of {period}");
    }

    [Fact]
    public void Keeping_the_token_keys_gives_the_same_outputs_and_lets_them_go_after()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var descriptors = Enumerable.Range(0, 12 * 3).Select(i => (float)Math.Cos(i * 0.9)).ToArray();
        using var network = new FrameLstm(1, [8], [0f], tokenCount: 12, embeddingSize: 4, descriptors: descriptors);
        network.eval();
        using var noGrad = no_grad();
        var input = Tokens(Enumerable.Range(0, 40).Select(i => i * 7 % 12).ToArray(), streams: 2);
        var plain = Tensors.ToArray(network.call(input, null).Output);
        float[] kept;
        using (network.KeepTokenKeys())
        {
            using (network.KeepTokenKeys()) { } // a nested scope leaves the outer one's keys in place
            kept = Tensors.ToArray(network.call(input, null).Output);
        }
        Assert.Equal(plain, kept);
        // Outside the scope the keys follow the weights again.
        using (no_grad()) network.parameters().First(p => p.shape.Length == 2 && p.shape[1] == 3).mul_(2);
        Assert.NotEqual(plain, Tensors.ToArray(network.call(input, null).Output));
    }

    [Fact]
    public void Running_in_pieces_with_the_state_carried_equals_running_at_once()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var descriptors = Enumerable.Range(0, 12 * 3).Select(i => (float)Math.Sin(i * 1.7)).ToArray();
        using var network = new FrameLstm(1, [8], [0f], tokenCount: 12, embeddingSize: 4, successorCache: true, periodicCopy: true,
            beatDescriptors: descriptors, textureInput: true);
        network.StartFromBaseline(Enumerable.Range(1, 12).Select(i => (long)i).ToArray(), 0.4);
        network.eval();
        var rng = new Random(5);
        var sequence = Enumerable.Range(0, 2 * 600).Select(_ => rng.Next(12)).ToArray(); // 600 steps x 2 streams: whole, it runs in pieces
        using var noGrad = no_grad();
        var all = Tokens(sequence, streams: 2);
        var (whole, wholeState) = network.call(all, null);
        var (first, state) = network.call(all.narrow(0, 0, 100), null);
        var pieces = new List<float>(Tensors.ToArray(first));
        for (int t = 100; t < 600; t++)   // the rest one step at a time, as generation does
        {
            var (step, next) = network.call(all.narrow(0, t, 1), state);
            pieces.AddRange(Tensors.ToArray(step));
            state = next;
        }
        var expected = Tensors.ToArray(whole);
        Assert.Equal(expected.Length, pieces.Count);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], (double)pieces[i], 1e-3);
        Assert.Equal(Tensors.ToArray(wholeState.Successors!), Tensors.ToArray(state.Successors!));
        Assert.Equal(Tensors.ToArray(wholeState.History!), Tensors.ToArray(state.History!));
        var wholeHistory = Tensors.ToArray(wholeState.OnsetHistory!);
        var stepHistory = Tensors.ToArray(state.OnsetHistory!);
        for (int i = 0; i < wholeHistory.Length; i++) Assert.Equal(wholeHistory[i], (double)stepHistory[i], 1e-3);
        var wholeGuide = Tensors.ToArray(wholeState.OnsetGuide!);
        var stepGuide = Tensors.ToArray(state.OnsetGuide!);
        Assert.Equal(2 * 12, wholeGuide.Length);
        for (int i = 0; i < wholeGuide.Length; i++) Assert.Equal(wholeGuide[i], (double)stepGuide[i], 1e-3);
        var wholeTexture = Tensors.ToArray(wholeState.Texture!);
        var stepTexture = Tensors.ToArray(state.Texture!);
        Assert.Equal(2 * (2 * 3 + 1), wholeTexture.Length); // 2 streams x (3 means, 3 squares, the weight seen)
        for (int i = 0; i < wholeTexture.Length; i++) Assert.Equal(wholeTexture[i], (double)stepTexture[i], 1e-4);
    }

    [Fact]
    public void The_beat_clock_holds_the_beat_it_heard_where_told()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var descriptors = Enumerable.Range(0, 4 * 6).Select(i => (float)Math.Abs(Math.Sin(i * 0.9))).ToArray();
        using var network = new FrameLstm(1, [8], [0f], tokenCount: 4, embeddingSize: 4, beatDescriptors: descriptors);
        network.eval();
        using var noGrad = no_grad();
        // Primed with a loud token every 8 steps, then a take of onsets at every step (0 and 3 alternating).
        var (_, state) = network.call(Tokens(Enumerable.Range(0, 160).Select(i => i % 8 == 0 ? 3 : 0).ToArray()), null);
        var primed = Tensors.ToArray(state.BeatRates!);
        var take = Enumerable.Range(0, 120).Select(i => i % 2 == 0 ? 3 : 0).ToArray();
        float[] RatesAfterTake(LstmState start, bool stepwise)
        {
            foreach (var part in stepwise ? take.Select(t => new[] { t }) : [take])
            {
                var (_, next) = network.call(Tokens(part), start);
                start = next;
            }
            return Tensors.ToArray(start.BeatRates!);
        }
        network.HoldBeat = true;
        Assert.Equal(primed, RatesAfterTake(state, stepwise: true));   // one step at a time (generation's path on the CPU)
        Assert.Equal(primed, RatesAfterTake(state, stepwise: false));  // many steps in one call
        network.HoldBeat = false;
        var moved = RatesAfterTake(state, stepwise: true);
        Assert.True(primed.Zip(moved).Any(p => Math.Abs(p.First - p.Second) > 1e-3), "the take's own onsets move the clock where it is not held");
        Assert.Equal(moved, RatesAfterTake(state, stepwise: false), new FloatComparer(1e-4f));
    }

    [Fact]
    public void The_texture_is_the_decayed_mean_and_spread_of_what_was_heard_and_holds_where_told()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        // 4 tokens described by 16 values: the texture averages them into 8 bands of 2.
        var descriptors = Enumerable.Range(0, 4 * 16).Select(i => (float)Math.Sin(i * 0.9)).ToArray();
        var bands = FrameLstm.TextureDescriptors(descriptors, 16, FrameLstm.TextureBands);
        Assert.Equal(4 * 8, bands.Length);
        Assert.Equal((descriptors[2 * 16 + 6] + descriptors[2 * 16 + 7]) / 2, bands[2 * 8 + 3], 6);
        using var network = new FrameLstm(1, [8], [0f], tokenCount: 4, embeddingSize: 4, beatDescriptors: descriptors, textureInput: true);
        Assert.True(network.TextureInput);
        Assert.Equal(4 + FrameLstm.BeatFeatures + 2 * 8, network.LayerShapes.First().Inputs);
        network.eval();
        using var noGrad = no_grad();
        var rng = new Random(4);
        var heard = Enumerable.Range(0, 300).Select(_ => rng.Next(2)).ToArray(); // tokens 0 and 1 only
        var (_, state) = network.call(Tokens(heard), null);
        // The bias-corrected decayed mean and spread of each band, computed here the plain way.
        double d = FrameLstm.TextureDecay, seen = 0;
        var sums = new double[16];
        foreach (int token in heard)
        {
            seen = d * seen + (1 - d);
            for (int g = 0; g < 8; g++)
            {
                double value = bands[token * 8 + g];
                sums[g] = d * sums[g] + (1 - d) * value;
                sums[8 + g] = d * sums[8 + g] + (1 - d) * value * value;
            }
        }
        var texture = Tensors.ToArray(state.Texture!);
        Assert.Equal(17, texture.Length);
        Assert.Equal(seen, texture[16], 4);
        for (int g = 0; g < 16; g++) Assert.Equal(sums[g], texture[g], 4);
        // Held: the take's own tokens (token 3 only) do not move it; not held, they pull it toward token 3's description.
        var take = Tokens(Enumerable.Repeat(3, 200).ToArray());
        network.HoldTexture = true;
        var (_, held) = network.call(take, state);
        Assert.Equal(texture, Tensors.ToArray(held.Texture!));
        network.HoldTexture = false;
        var (_, moved) = network.call(take, state);
        var after = Tensors.ToArray(moved.Texture!);
        for (int g = 0; g < 8; g++)
        {
            double before = texture[g] / texture[16], now = after[g] / after[16], target = bands[3 * 8 + g];
            Assert.True(Math.Abs(now - target) < Math.Abs(before - target) || Math.Abs(before - target) < 1e-6, $"band {g}: {before:F3} -> {now:F3}, token 3's {target:F3}");
        }
        Assert.Throws<ArgumentException>(() => new FrameLstm(1, [8], [0f], tokenCount: 4, embeddingSize: 4, textureInput: true));
    }

    [Fact]
    public void The_beat_clock_expects_an_onset_one_period_after_the_last_ones()
    {
        using var scope = NewDisposeScope();
        // Token 0 is quiet, tokens 1-3 loud: a beat every 20 steps (a loud token held 3 steps, then quiet), with a
        // weaker irregular rise in between, so that only a clock that found the period can say when the next beat is.
        const int period = 20, vocabulary = 4;
        float[] descriptors = [0, 0, 3, 3, 2, 2, 1, 1]; // [4 tokens, 2 values]
        var rng = new Random(7);
        var sequence = new int[600];
        for (int t = 0; t < sequence.Length; t++)
            sequence[t] = t % period < 3 ? 1 : rng.NextDouble() < 0.1 ? 3 : 0;
        using var network = new FrameLstm(1, [8], [0f], tokenCount: vocabulary, embeddingSize: 4, beatDescriptors: descriptors);
        var tokens = tensor(sequence.Select(t => (long)t).ToArray()).unsqueeze(1);
        var (features, _, _, _, _) = network.Beat(tokens, null);
        var values = Tensors.ToArray(features); // [T, 1, 2]: expected onset of the next step, periodicity
        double onBeat = 0, offBeat = 0;
        int onCount = 0, offCount = 0;
        for (int t = 300; t < 599; t++)
        {
            if ((t + 1) % period == 0) { onBeat += values[2 * t]; onCount++; }
            else { offBeat += values[2 * t]; offCount++; }
        }
        onBeat /= onCount;
        offBeat /= offCount;
        Assert.True(onBeat > 2, $"before a beat the clock expects {onBeat:F2} standard deviations of onset");
        Assert.True(offBeat < 0.3, $"between beats the clock expects {offBeat:F2}");
        Assert.InRange(values[2 * 598 + 1], 0.5, 1.2); // strongly periodic
        // The guide's scale at every step in plain loops, as the seed guide reads the primed excerpt's, is the clock's.
        var scales = network.GuideScales(sequence);
        for (int t = 0; t < sequence.Length; t++) Assert.True(Math.Abs(FrameLstm.GuideScale(values.AsSpan(2 * t, 2), 0) - scales[t]) < 1e-4, $"step {t}: {scales[t]} against the clock's {FrameLstm.GuideScale(values.AsSpan(2 * t, 2), 0)}");
        Assert.True(scales[579] > 1, $"scale before a beat {scales[579]:F2}");
        network.eval();
        using (no_grad())
        {
            var (_, state) = network.call(Tokens(sequence), null);
            Assert.Equal(values[^2..], Tensors.ToArray(state.Clock!), new FloatComparer(1e-5f));
        }
        Assert.Throws<InvalidOperationException>(() => new FrameLstm(1, [8], [0f], tokenCount: vocabulary, embeddingSize: 4).GuideScales(sequence));
    }

    [Fact]
    public void The_onset_guide_favours_a_rising_token_on_the_beat_and_a_held_one_between_beats()
    {
        using var scope = NewDisposeScope();
        // The beat clock's test sequence: token 0 quiet, tokens 1-3 loud, a beat every 20 steps.
        const int period = 20, vocabulary = 4;
        float[] descriptors = [0, 0, 3, 3, 2, 2, 1, 1];
        var rng = new Random(7);
        var sequence = new int[600];
        for (int t = 0; t < sequence.Length; t++)
            sequence[t] = t % period < 3 ? 1 : rng.NextDouble() < 0.1 ? 3 : 0;
        using var network = new FrameLstm(1, [8], [0f], tokenCount: vocabulary, embeddingSize: 4, beatDescriptors: descriptors);
        using var noGrad = no_grad();
        // The guide after the first n steps, where the current token is the quiet one: token 1 rises from it, token 0 holds.
        float[] GuideAfter(int steps)
        {
            var (_, state) = network.call(Tokens(sequence[..steps]), null);
            return Tensors.ToArray(state.OnsetGuide!);
        }
        network.eval();
        var ends = Enumerable.Range(400, 200).Where(n => sequence[n - 1] == 0).ToArray();
        int FirstEnd(Func<int, bool> where) => Enumerable.Range(400, 200).First(where);
        var onBeat = ends.Where(n => n % period == 0).Select(GuideAfter).ToArray();               // the next step is a beat
        var between = ends.Where(n => n % period is >= 8 and <= 14).Select(GuideAfter).ToArray(); // the next step is far from one
        Assert.True(onBeat.Length >= 5 && between.Length >= 20);
        double rise = onBeat.Average(g => g[1]), hold = onBeat.Average(g => g[0]);
        Assert.True(rise > 1 && hold < 0, $"on the beat a rising token gets {rise:F2}, holding the quiet one {hold:F2}");
        rise = between.Average(g => g[1]);
        hold = between.Average(g => g[0]);
        Assert.True(hold > rise, $"between beats holding gets {hold:F2}, rising {rise:F2}");
        // Back to a loud token heard within the last 0.1 s is no onset: after loud, quiet, it scores as holding does, so
        // the guide cannot drive a take into alternating a loud and a quiet token every other step.
        int flicker = FirstEnd(n => sequence[n - 2] == 1 && sequence[n - 1] == 0);
        var back = GuideAfter(flicker);
        Assert.Equal(back[0], back[1], 5);
        network.train();
        var (_, training) = network.call(Tokens(sequence[..ends[0]]), null);
        Assert.Null(training.OnsetGuide); // training and its loss never see the guide
    }

    [Fact]
    public void The_onset_term_adds_its_gain_times_the_guide_generation_hands_over_in_training_too()
    {
        using var scope = NewDisposeScope();
        // The beat clock's test sequence: token 0 quiet, tokens 1-3 loud, a beat every 20 steps.
        const int period = 20, vocabulary = 4, steps = 440;
        float[] descriptors = [0, 0, 3, 3, 2, 2, 1, 1];
        var rng = new Random(7);
        var sequence = new int[steps];
        for (int t = 0; t < sequence.Length; t++)
            sequence[t] = t % period < 3 ? 1 : rng.NextDouble() < 0.1 ? 3 : 0;
        manual_seed(6);
        using var network = new FrameLstm(1, [8], [0f], tokenCount: vocabulary, embeddingSize: 4, successorCache: true, beatDescriptors: descriptors,
            onsetTerm: true);
        Assert.True(network.OnsetTerm);
        using var noGrad = no_grad();
        var gain = network.named_parameters().Single(p => p.name == "onsetGain").parameter;
        float[] Outputs(float g, bool training)
        {
            using TorchSharp.Scalar value = g;
            gain.fill_(value);
            if (training) network.train();
            else network.eval();
            return Tensors.ToArray(network.call(Tokens(sequence), null).Output);
        }
        // The guide generation reads after each step, one step at a time from the start.
        network.eval();
        var guides = new float[steps * vocabulary];
        LstmState? state = null;
        for (int t = 0; t < steps; t++)
        {
            var (_, next) = network.call(Tokens([sequence[t]]), state);
            state?.Dispose();
            state = next;
            Tensors.ToArray(state.OnsetGuide!).CopyTo(guides, t * vocabulary);
        }
        Assert.Contains(guides, g => g > 0.2f);
        Assert.Contains(guides, g => g < -0.2f);
        foreach (bool training in new[] { false, true })
        {
            var without = Outputs(0, training);
            var with = Outputs(2.5f, training);
            for (int i = 0; i < with.Length; i++)
                Assert.True(Math.Abs(with[i] - without[i] - 2.5f * guides[i]) < 1e-4, $"{(training ? "training" : "evaluation")}, value {i}: {with[i] - without[i]} against {2.5f * guides[i]}");
        }
        Assert.Throws<ArgumentException>(() => new FrameLstm(1, [8], [0f], tokenCount: vocabulary, embeddingSize: 4, onsetTerm: true));
    }

    [Fact]
    public void The_beat_clocks_and_the_onset_terms_gains_learn_faster()
    {
        using var network = new FrameLstm(1, [8], [0f], tokenCount: 6, embeddingSize: 4, successorCache: true, periodicCopy: true,
            beatDescriptors: new float[6 * 2], onsetTerm: true);
        var faster = network.named_parameters().Select(p => (p.name, FrameLstm.RateScale(p.name))).Where(p => p.Item2 != 1).ToArray();
        Assert.Equal([("beatGains", FrameLstm.GainRateScale), ("onsetGain", FrameLstm.OnsetRateScale)], faster);
    }

    [Fact]
    public void Adam_scales_the_step_of_each_parameter_by_its_rate_scale()
    {
        using var scope = NewDisposeScope();
        var slow = new TorchSharp.Modules.Parameter(zeros(1));
        var fast = new TorchSharp.Modules.Parameter(zeros(1));
        using var optimizer = new MusicGen.Estimators.Training.AdamOptimizer([slow, fast], 0.01, rateScales: [1, 30]);
        var loss = slow.Minus(tensor(1f)).Squared().Plus(fast.Minus(tensor(1f)).Squared()).sum();
        loss.backward();
        optimizer.Step();
        // Adam's first step moves every parameter by its learning rate, whatever the gradient's size.
        Assert.Equal(0.01, slow.item<float>(), 1e-4);
        Assert.Equal(0.3, fast.item<float>(), 1e-3);
    }

    [Fact]
    public void An_untrained_network_starts_at_repeat_or_unigram()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        const int vocabulary = 64;
        using var network = new FrameLstm(1, [8], [0f], tokenCount: vocabulary, embeddingSize: 4);
        var counts = Enumerable.Range(0, vocabulary).Select(k => (long)(k < 32 ? 300 : 100)).ToArray();
        network.StartFromBaseline(counts, repeatRate: 0.6);
        network.eval();
        using var noGrad = no_grad();
        var (output, state) = network.call(Tokens([5]), null);
        var p = Tensors.ToArray(output.softmax(-1));
        double unigram = 301.0 / counts.Sum(c => c + 1.0);
        Assert.InRange(p[5], 0.5, 0.75);                        // the previous token: about the repeat rate
        Assert.InRange(p[10] / p[50], 2.0, 4.5);                // others in proportion to their frequencies (3:1)
        Assert.InRange(p[10], 0.2 * unigram, 0.8 * unigram);    // and scaled down by the repeat's share
    }

    /// <summary>A network with every memory (caches, successor cache, periodic copy, beat clock and its onset term) and a backoff.</summary>
    private static FrameLstm EveryMemory(int vocabulary)
    {
        manual_seed(4);
        var descriptors = Enumerable.Range(0, vocabulary * 3).Select(i => (float)Math.Sin(i * 1.3)).ToArray();
        var network = new FrameLstm(1, [8], [0f], tokenCount: vocabulary, embeddingSize: 4, successorCache: true, periodicCopy: true,
            beatDescriptors: descriptors, onsetTerm: true);
        var counts = Enumerable.Range(1, vocabulary).Select(i => (long)i).ToArray();
        network.StartFromBaseline(counts, 0.4);
        using (no_grad())
        {
            using TorchSharp.Scalar onset = 1.5f;
            network.named_parameters().Single(p => p.name == "onsetGain").parameter.fill_(onset);
        }
        network.SetBackoff(counts, 0.4, 0.2);
        network.eval();
        return network;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_memory_fit_gives_the_forward_pass_cross_entropy_under_any_gains(bool everyMemory)
    {
        using var scope = NewDisposeScope();
        // LibTorch's own kernel, as generation runs it: oneDNN's LSTM disagreed for 8 units on one CPU (OneDnn.LstmAgrees).
        using var plain = OneDnn.Scope(false);
        manual_seed(8);
        using var network = everyMemory ? EveryMemory(12) : new FrameLstm(1, [8], [0f], tokenCount: 12, embeddingSize: 4, successorCache: true);
        network.eval();
        var rng = new Random(6);
        var excerpt = Enumerable.Range(0, 301).Select(_ => rng.Next(10)).ToArray(); // tokens 10 and 11 never played
        var input = Tokens(excerpt[..^1]);
        var targets = Tokens(excerpt[1..]);
        var loss = network.MemoryFit(input, targets);
        Assert.Equal(network.MemoryGains.Sum(g => g.numel()), loss.GainCount);
        var gradient = new double[loss.GainCount];
        for (int round = 0; round < 3; round++)
        {
            // The forward pass's cross-entropy and its gradient with respect to the gains, by LibTorch's autograd.
            foreach (var gain in network.MemoryGains) gain.grad?.zero_();
            var expected = LstmTrainer.Loss(network.call(input, null).Output, targets, 12);
            expected.backward();
            var expectedGradient = network.MemoryGains.SelectMany(g => Tensors.ToArray(g.grad!)).ToArray();
            var gains = network.MemoryGains.SelectMany(Tensors.ToArray).Select(v => (double)v).ToArray();
            Assert.Equal(expected.item<float>(), loss.CrossEntropy(gains, gradient), 1e-4);
            for (int i = 0; i < gradient.Length; i++) Assert.Equal(expectedGradient[i], gradient[i], 1e-4);
            Assert.Contains(gradient, g => Math.Abs(g) > 1e-3);
            // With a shift of each column's logit: its derivatives against central differences.
            var shifted = gains.Concat(Enumerable.Range(0, loss.Columns).Select(k => 0.25 * ((k * 7 + round) % 5 - 2))).ToArray();
            var shiftedGradient = new double[shifted.Length];
            loss.CrossEntropy(shifted, shiftedGradient);
            Assert.Contains(shiftedGradient.Skip(loss.GainCount), g => Math.Abs(g) > 1e-3);
            var scratch = new double[shifted.Length];
            foreach (int i in new[] { 0, loss.GainCount, loss.GainCount + 3, shifted.Length - 1 })
            {
                var (up, down) = ((double[])shifted.Clone(), (double[])shifted.Clone());
                up[i] += 1e-4;
                down[i] -= 1e-4;
                Assert.Equal((loss.CrossEntropy(up, scratch) - loss.CrossEntropy(down, scratch)) / 2e-4, shiftedGradient[i], 1e-4);
            }
            Assert.Equal(Enumerable.Range(0, 10).ToArray(), loss.ColumnTokens); // tokens 10 and 11 share the last column
            // Other gains: the same loss follows them without being built again.
            using Scalar step = 0.7;
            using (no_grad()) foreach (var gain in network.MemoryGains) gain.PlusInPlace(step);
        }
    }

    [Fact]
    public void Seed_adaptation_lowers_the_excerpts_loss_and_puts_the_gains_back()
    {
        using var scope = NewDisposeScope();
        using var network = EveryMemory(12);
        var rng = new Random(7);
        var cycle = Enumerable.Range(0, 9).Select(_ => rng.Next(12)).ToArray();
        var excerpt = Enumerable.Range(0, 200).Select(t => cycle[t % cycle.Length]).ToArray(); // a seed that repeats itself
        var before = network.MemoryGains.Select(Tensors.ToArray).ToArray();
        var weights = network.parameters().Where(p => !network.MemoryGains.Contains(p)).Select(Tensors.ToArray).ToArray();
        var loss = network.MemoryFit(Tokens(excerpt[..^1]), Tokens(excerpt[1..]));
        double adaptationLoss;
        using (var adaptation = new SeedAdaptation(network, strength: 3))
        {
            adaptation.Fit(loss);
            var (lossBefore, lossAfter) = adaptation.Loss;
            adaptationLoss = lossAfter;
            Assert.True(lossAfter < lossBefore - 0.1, $"the excerpt's loss went from {lossBefore} to {lossAfter}");
            Assert.NotEqual(before[0], Tensors.ToArray(network.MemoryGains[0]));
            Assert.Equal(weights, network.parameters().Where(p => !network.MemoryGains.Contains(p)).Select(Tensors.ToArray).ToArray());
        }
        Assert.Equal(before, network.MemoryGains.Select(Tensors.ToArray).ToArray());
        // The token biases: moved while the adaptation holds, those of tokens the excerpt plays most, and put back.
        var biases = Tensors.ToArray(network.TokenBias);
        using (var withBias = new SeedAdaptation(network, strength: 3, biasStrength: 10))
        {
            withBias.Fit(loss);
            Assert.True(withBias.Loss.After < adaptationLoss - 0.01, $"with the biases {withBias.Loss.After}, without {adaptationLoss}");
            var moved = Tensors.ToArray(network.TokenBias).Zip(biases, (a, b) => a - b).ToArray();
            Assert.True(cycle.Distinct().Min(t => moved[t]) > Enumerable.Range(0, 12).Except(cycle).Max(t => moved[t]));
        }
        Assert.Equal(biases, Tensors.ToArray(network.TokenBias));
        Assert.Equal(before, network.MemoryGains.Select(Tensors.ToArray).ToArray());
        using (var none = new SeedAdaptation(network, strength: 0))
        {
            Assert.False(none.Fits);
            none.Fit(loss);
            Assert.True(double.IsNaN(none.Loss.Before));
        }
        Assert.Equal(before, network.MemoryGains.Select(Tensors.ToArray).ToArray());
    }

    [Theory]
    [InlineData(300, 0)]    // one pass: the fit reads the priming's own terms
    [InlineData(300, 10)]   // and the token biases it moves weigh the priming's output
    [InlineData(700, 10)]   // pieces: the fit runs its own pass over the last 512 pairs
    public void Priming_with_a_fit_gives_what_fitting_first_and_priming_after_gives(int length, double biasStrength)
    {
        using var scope = NewDisposeScope();
        using var network = EveryMemory(12);
        var rng = new Random(9);
        var cycle = Enumerable.Range(0, 7).Select(_ => rng.Next(10)).ToArray();
        var seed = Enumerable.Range(0, length).Select(t => rng.NextDouble() < 0.8 ? cycle[t % cycle.Length] : rng.Next(10)).ToArray();
        const int streams = 3;
        var input = Tokens(seed.SelectMany(t => Enumerable.Repeat(t, streams)).ToArray(), streams);
        var excerpt = seed[Math.Max(0, length - 1 - 2 * FrameLstm.PieceSteps)..];
        float[] expectedOutput, expectedGains, expectedCaches, expectedGuide;
        double expectedAfter;
        using (no_grad())
        using (var first = new SeedAdaptation(network, strength: 3, biasStrength))
        {
            first.Fit(network.MemoryFit(Tokens(excerpt[..^1]), Tokens(excerpt[1..])));
            expectedAfter = first.Loss.After;
            expectedGains = network.MemoryGains.Append(network.TokenBias).SelectMany(Tensors.ToArray).ToArray();
            var (output, state) = network.call(input, null);
            (expectedOutput, expectedCaches, expectedGuide) = (Tensors.ToArray(output), Tensors.ToArray(state.Caches!), Tensors.ToArray(state.OnsetGuide!));
        }
        using (no_grad())
        using (var shared = new SeedAdaptation(network, strength: 3, biasStrength))
        {
            var (output, state) = network.Prime(input, shared.Fit);
            Assert.Equal(expectedAfter, shared.Loss.After, 1e-5);
            Assert.Equal(expectedGains, network.MemoryGains.Append(network.TokenBias).SelectMany(Tensors.ToArray).ToArray(), (a, b) => Math.Abs(a - b) < 1e-4);
            Assert.Equal(expectedOutput, Tensors.ToArray(output), (a, b) => Math.Abs(a - b) < 1e-4);
            Assert.Equal(expectedCaches, Tensors.ToArray(state.Caches!));
            Assert.Equal(expectedGuide, Tensors.ToArray(state.OnsetGuide!), (a, b) => Math.Abs(a - b) < 1e-4);
        }
    }
}
