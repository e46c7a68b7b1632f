using MusicGen.Estimators.Tokens;
using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Tokens;
using MusicGen.Transforms.Torch;
using static TorchSharp.torch;

namespace MusicGen.Tests;

/// <summary>
/// The codec's envelope channel: <see cref="MelEnvelope"/> analysis and shaping, <see cref="EnvelopeLstm"/>'s plain-loop
/// cell against TorchSharp's LSTM, its save and load, and <see cref="EnvelopeFitting"/> learning a predictable envelope.
/// </summary>
public class EnvelopeTests
{
    private const int Rate = 8000, FrameSize = 256, Bins = FrameSize / 2 + 1;

    /// <summary>Log-magnitude frames of a 500 Hz tone whose level rises and falls over 60 frames, over a noise floor.</summary>
    private static float[] Swell(int frames, int seed)
    {
        var rng = new Random(seed);
        var result = new float[frames * Bins];
        for (int t = 0; t < frames; t++)
        {
            float level = -3 + 2.5f * MathF.Sin(2 * MathF.PI * t / 60f);
            for (int i = 0; i < Bins; i++)
            {
                float d = i - 16; // 500 Hz is bin 16
                result[t * Bins + i] = Math.Max(-8 + 0.2f * (float)rng.NextDouble(), level - d * d / 2);
            }
        }
        return result;
    }

    [Fact]
    public void A_constant_gain_raises_every_band_by_that_gain()
    {
        var envelope = new MelEnvelope(40, FrameSize, Rate);
        var frame = Swell(1, 1);
        var before = envelope.Energies(frame);
        envelope.Shape(frame, Enumerable.Repeat(0.7f, 40).ToArray());
        var after = envelope.Energies(frame);
        for (int b = 0; b < 40; b++) Assert.InRange(after[b] - before[b], 0.695f, 0.705f); // up to the power floor's share in the quietest bands
    }

    [Fact]
    public void Shaping_a_frame_by_the_difference_of_envelopes_takes_it_most_of_the_way_to_the_other()
    {
        // One pass: neighbouring filters overlap, so a band also takes part of its neighbours' gains (0.19 left of 0.71).
        var envelope = new MelEnvelope(32, FrameSize, Rate);
        var rng = new Random(2);
        float[] Smooth() => Enumerable.Range(0, Bins).Select(i => (float)(-4 + 2 * Math.Sin(i / 9.0 + rng.NextDouble() * 6) + 0.3 * rng.NextDouble())).ToArray();
        float[] a = Smooth(), b = Smooth();
        float[] ea = envelope.Energies(a), eb = envelope.Energies(b);
        envelope.Shape(a, ea.Zip(eb, (x, y) => y - x).ToArray());
        var shaped = envelope.Energies(a);
        double before = ea.Zip(eb, (x, y) => Math.Abs(x - y)).Average(), after = shaped.Zip(eb, (x, y) => Math.Abs(x - y)).Average();
        Assert.True(after < 0.35 * before, $"mean band error {after:F3} after shaping, {before:F3} before");
    }

    [Fact]
    public void Bin_floored_bands_carry_another_frame_nearer_than_plain_mel_bands_as_many()
    {
        // Rough spectra (each bin its own level), as music has above a few kHz, on three bands for every four bins (as
        // 768 bands on 1025): the plain layout spends bands between bins at the bottom and leaves several bins under
        // each band at the top; the floored one spells the low bins exactly and keeps the top bands narrower.
        var rng = new Random(4);
        float[] Rough() => Enumerable.Range(0, Bins).Select(_ => (float)(-4 + 2 * rng.NextDouble())).ToArray();
        float[] a = Rough(), b = Rough();
        double Error(bool floored)
        {
            var envelope = new MelEnvelope(96, FrameSize, Rate, floored);
            var frame = (float[])a.Clone();
            var target = envelope.Energies(b);
            var gains = new float[96];
            for (int pass = 0; pass < 8; pass++)
            {
                envelope.Energies(frame, gains);
                for (int k = 0; k < 96; k++) gains[k] = target[k] - gains[k];
                envelope.Shape(frame, gains);
            }
            return frame.Zip(b, (x, y) => Math.Abs(x - y)).Average();
        }
        double plain = Error(false), floored = Error(true);
        Assert.True(floored < 0.8 * plain, $"mean bin error {floored:F3} floored, {plain:F3} plain");
        Assert.True(new MelEnvelope(96, FrameSize, Rate, binFloored: true).BinFloored);
    }

    /// <summary>An envelope network of 12 bands and 8 units, as initialised from seed 5.</summary>
    private static EnvelopeFitting.EnvelopeNetwork UntrainedNetwork(Codebook codebook)
    {
        manual_seed(5);
        return new EnvelopeFitting.EnvelopeNetwork(codebook.TokenCount, 4, 12, 8);
    }

    private static Codebook SwellCodebook(out float[] music)
    {
        music = Swell(400, 3);
        return CodebookFitting.Fit([music], Bins, Rate, tokenCount: 4, bands: 16);
    }

    [Fact]
    public void The_plain_loop_cell_continues_as_TorchSharp_LSTM_does()
    {
        var codebook = SwellCodebook(out var music);
        using var network = UntrainedNetwork(codebook);
        var envelope = network.ToEnvelope(codebook, new MelEnvelope(12, FrameSize, Rate));
        var prime = music.AsSpan(0, 30 * Bins).ToArray();
        var primeTokens = codebook.Encode(prime);
        var tokens = codebook.Encode(music.AsSpan(30 * Bins, 20 * Bins));
        var continued = envelope.Continue(prime, primeTokens, tokens);

        // TorchSharp reads the same inputs: the prime's residuals, then the residuals the loop predicted.
        var primeResiduals = envelope.Residuals(prime, primeTokens);
        var read = new float[50 * 12];
        Array.Copy(primeResiduals, 0, read, 12, 30 * 12);
        Array.Copy(continued, 0, read, 31 * 12, 19 * 12);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var all = primeTokens.Concat(tokens).Select(t => (long)t).ToArray();
        // LibTorch's own kernel: oneDNN's disagreed for this shape on one CPU (OneDnn.LstmAgrees), and training avoids it there.
        using var plain = OneDnn.Scope(false);
        var output = Tensors.ToArray(network.call(tensor(all, [1, 50]), tensor(read, [1, 50, 12])).narrow(1, 30, 20).contiguous());
        Assert.True(continued.All(v => Math.Abs(v) < EnvelopeLstm.Bound), "nothing clamped");
        for (int i = 0; i < continued.Length; i++) Assert.Equal(output[i], continued[i], 4);
    }

    [Fact]
    public void A_fitted_envelope_predicts_a_swell_and_saves_and_loads_unchanged()
    {
        var codebook = SwellCodebook(out var music);
        var envelope = EnvelopeFitting.Fit(codebook, [music], FrameSize, Rate, bands: 16, steps: 150, embeddingSize: 4, hiddenSize: 32, passes: 1000);
        // Continue a held-out swell (another noise floor) for 20 frames after 40 frames of priming.
        var other = Swell(60, 9);
        var prime = other.AsSpan(0, 40 * Bins).ToArray();
        var next = other.AsSpan(40 * Bins, 20 * Bins).ToArray();
        var tokens = codebook.Encode(next);
        var predicted = envelope.Continue(prime, codebook.Encode(prime), tokens);
        var actual = envelope.Residuals(next, tokens);
        double error = predicted.Zip(actual, (p, a) => (p - a) * (p - a)).Average(), none = actual.Average(a => a * a);
        Assert.True(error < 0.5 * none, $"squared error {error:F4} against {none:F4} for no reshaping");

        var stream = new MemoryStream();
        envelope.Save(new BinaryWriter(stream));
        stream.Position = 0;
        var loaded = EnvelopeLstm.Load(new BinaryReader(stream), codebook);
        Assert.True(envelope.Envelope.BinFloored, "fitted with the default layout");
        Assert.True(loaded.Envelope.BinFloored, "loaded with its layout");
        Assert.Equal(predicted, loaded.Continue(prime, codebook.Encode(prime), tokens));
        Assert.Equal(envelope.Render(tokens, predicted), loaded.Render(tokens, predicted));
    }

    [Fact]
    public void Seed_frames_give_a_take_the_seeds_envelopes_for_the_seeds_tokens_in_the_seeds_order()
    {
        var codebook = SwellCodebook(out var music);
        using var network = UntrainedNetwork(codebook);
        var envelope = network.ToEnvelope(codebook, new MelEnvelope(12, FrameSize, Rate));
        var prime = music.AsSpan(0, 30 * Bins).ToArray();
        var primeTokens = codebook.Encode(prime);
        var seed = Swell(60, 9);
        var seedTokens = codebook.Encode(seed);
        var seedResiduals = envelope.Residuals(seed, seedTokens);
        // A take that plays the seed's succession from frame 20, then goes its own way.
        var tokens = seedTokens.Skip(20).Take(15).Concat(seedTokens.Skip(5).Take(10).Reverse()).ToArray();
        var followed = envelope.Continue(prime, primeTokens, tokens, envelope.SeedFrames(seed, 1));

        // All the way: each frame's envelope has the shape across the bands of one of the seed's frames with its token
        // (at the network's level), and where the seed frame after the one followed before has the take's token, that one's.
        static float[] Shape(ReadOnlySpan<float> row)
        {
            float mean = 0;
            foreach (float v in row) mean += v / row.Length;
            var shape = row.ToArray();
            for (int b = 0; b < shape.Length; b++) shape[b] -= mean;
            return shape;
        }
        var frames = new int[tokens.Length];
        for (int t = 0; t < tokens.Length; t++)
        {
            var row = Shape(followed.AsSpan(t * 12, 12));
            frames[t] = Enumerable.Range(0, seedTokens.Length).Single(f => seedTokens[f] == tokens[t]
                && Shape(seedResiduals.AsSpan(f * 12, 12)).Select((v, b) => Math.Abs(v - row[b])).Max() < 1e-4);
            if (t > 0 && frames[t - 1] + 1 < seedTokens.Length && seedTokens[frames[t - 1] + 1] == tokens[t])
                Assert.Equal(frames[t - 1] + 1, frames[t]);
        }
        Assert.True(Enumerable.Range(1, 14).Count(t => frames[t] == frames[t - 1] + 1) >= 2, $"seed frames followed: {string.Join(' ', frames)}");

        // None of the way, or a seed that never played the take's tokens: the network's own envelope.
        var own = envelope.Continue(prime, primeTokens, tokens);
        Assert.Equal(own, envelope.Continue(prime, primeTokens, tokens, envelope.SeedFrames(seed, 0)));
        int unplayed = Enumerable.Range(0, codebook.TokenCount).First(v => v != seedTokens[0]);
        int steady = Enumerable.Range(1, seedTokens.Length).First(n => n == seedTokens.Length || seedTokens[n] == unplayed);
        var never = Enumerable.Repeat(unplayed, 10).ToArray();
        Assert.Equal(envelope.Continue(prime, primeTokens, never),
            envelope.Continue(prime, primeTokens, never, envelope.SeedFrames(seed.AsSpan(0, steady * Bins), 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => envelope.SeedFrames(seed, 1.5));
    }

    [Fact]
    public void Predicted_envelopes_stay_under_the_loudest_exemplar_and_analysed_ones_keep_their_level()
    {
        var codebook = SwellCodebook(out var music);
        using var network = UntrainedNetwork(codebook);
        var envelope = network.ToEnvelope(codebook, new MelEnvelope(12, FrameSize, Rate));
        // The swell 3 units (26 dB) louder than anything the codebook was fitted on.
        var loud = music.AsSpan(0, 20 * Bins).ToArray().Select(v => v + 3).ToArray();
        var tokens = codebook.Encode(loud);
        var residuals = envelope.Residuals(loud, tokens);
        double Peak(float[] frames) => frames.Max();
        double exemplarPeak = Peak(codebook.Decode(Enumerable.Range(0, codebook.TokenCount).ToArray()));
        Assert.True(Peak(envelope.Render(tokens, residuals)) < exemplarPeak + 0.5, "capped: no louder than the exemplars");
        var uncapped = envelope.Render(tokens, residuals, capped: false);
        Assert.True(Math.Abs(Peak(uncapped) - Peak(loud)) < 0.5, $"analysed: peak {Peak(uncapped):F2}, the music's {Peak(loud):F2}");
        // The codec's reconstruction is the uncapped rendering.
        Assert.Equal(uncapped, new MusicGen.Transforms.TokenizingTransformer("Features", "Token", codebook, envelope).Reconstruct(loud));
    }

    [Fact]
    public void Timbre_match_moves_the_takes_balance_to_the_seeds_and_keeps_its_changes()
    {
        var bands = new MelEnvelope(TimbreMatch.Bands, FrameSize, Rate);
        var seed = Swell(60, 1);
        var seedMeans = TimbreMatch.MeanEnergies(bands, seed);
        // The take: another swell, 1.5 units quieter and tilted (high bins louder by up to 1 unit).
        var take = Swell(90, 2);
        for (int t = 0; t < 90; t++)
            for (int i = 0; i < Bins; i++) take[t * Bins + i] += -1.5f + (float)i / Bins;
        double Distance(float[] frames)
        {
            var m = TimbreMatch.MeanEnergies(bands, frames);
            return Math.Sqrt(seedMeans.Zip(m, (a, b) => (a - b) * (a - b)).Average());
        }
        double before = Distance(take);
        var untouched = take.ToArray();
        TimbreMatch.Apply(bands, seedMeans, untouched, 0);
        Assert.Equal(take, untouched);

        var matched = take.ToArray();
        TimbreMatch.Apply(bands, seedMeans, matched, 1);
        double after = Distance(matched);
        Assert.True(before > 1 && after < 0.2 * before, $"distance of the mean band energies: {before:F3} before, {after:F3} after");
        // Every frame gets the same correction: what changes from frame to frame (the notes, the swell) is the take's.
        for (int t = 1; t < 90; t++)
            for (int i = 0; i < Bins; i++)
                Assert.Equal(take[t * Bins + i] - take[(t - 1) * Bins + i], matched[t * Bins + i] - matched[(t - 1) * Bins + i], 3);
        // Half the strength goes about half the way; no correction passes the bound.
        var half = take.ToArray();
        TimbreMatch.Apply(bands, seedMeans, half, 0.5);
        Assert.InRange(Distance(half), 0.35 * before, 0.65 * before);
        var silent = Enumerable.Repeat(-20f, 10 * Bins).ToArray();
        Assert.All(TimbreMatch.Gains(bands, TimbreMatch.MeanEnergies(bands, silent), take, 1), g => Assert.InRange(g, -TimbreMatch.Bound, TimbreMatch.Bound));
        Assert.Throws<ArgumentOutOfRangeException>(() => TimbreMatch.Gains(bands, seedMeans, take, -1));
    }

    [Fact]
    public void Groove_match_finds_a_seeds_pluck_period_and_gives_a_steady_take_its_pulse()
    {
        // The seed: a pluck every 10.75 frames (a fractional period), each decaying by 2 units over the period.
        const double period = 10.75;
        var seed = new float[430 * Bins];
        var rng = new Random(3);
        for (int t = 0; t < 430; t++)
        {
            float level = -2f * (float)(t / period % 1);
            for (int i = 0; i < Bins; i++) seed[t * Bins + i] = level - 0.01f * i + 0.05f * (float)rng.NextDouble();
        }
        var groove = GrooveMatch.Find(seed, Bins, 10, 22)!;
        Assert.InRange(groove.Period, period - 0.1, period + 0.1);
        Assert.True(groove.Explained > 0.8, $"explained {groove.Explained:P0}");
        Assert.True(groove.Pattern.Max() - groove.Pattern.Min() > 1.5, "the pattern keeps most of the decay's depth");

        // A steady take (no level movement) gets the seed's plucks, continued in phase: its onset envelope now pulses at
        // the seed's period, and it rises where the seed's next pluck would have come.
        var take = Enumerable.Range(0, 200 * Bins).Select(j => -1f - 0.01f * (j % Bins)).ToArray();
        var before = Onsets.StrongestPeriod(Onsets.Envelope(take, Bins), 5, 40);
        GrooveMatch.Apply(groove, take, Bins, 1);
        var after = Onsets.StrongestPeriod(Onsets.Envelope(take, Bins), 5, 40);
        Assert.True(after.Strength > 0.5 && after.Strength > before.Strength + 0.4, $"pulse {before.Strength:F2} before, {after.Strength:F2} after");
        Assert.InRange(after.Period, 10, 11);
        double pluckAt = (Math.Floor(430 / period) + 1) * period - 430; // the seed's next pluck after its last frame, in take frames
        var levels = GrooveMatch.Levels(take, Bins);
        int rise = (int)Math.Ceiling(pluckAt);
        Assert.True(levels[rise] > levels[rise - 1] + 1, $"a pluck at take frame {pluckAt:F1}: {levels[rise - 1]:F2} then {levels[rise]:F2}");

        // Noise with no steady pattern leaves a take nearly as it was; strength 0 leaves it alone.
        var noise = Enumerable.Range(0, 430 * Bins).Select(_ => (float)rng.NextDouble() - 3f).ToArray();
        var none = GrooveMatch.Find(noise, Bins, 10, 22)!;
        Assert.True(none.Pattern.All(v => Math.Abs(v) < 0.1), $"pattern from noise: {string.Join(" ", none.Pattern.Select(v => v.ToString("F2")))}");
        var untouched = take.ToArray();
        GrooveMatch.Apply(groove, untouched, Bins, 0);
        Assert.Equal(take, untouched);
        Assert.Null(GrooveMatch.Find(seed.AsSpan(0, 50 * Bins), Bins, 10, 22)); // too short for three periods
    }

    [Fact]
    public void Level_match_moves_a_takes_mean_frame_power_toward_its_seeds()
    {
        // Half the frames quiet, half 1 unit louder: the power level is the log of the mean of exp(2 v), not the mean v.
        var take = Enumerable.Range(0, 40 * Bins).Select(j => (float)(j / Bins % 2 == 0 ? -3 : -2)).ToArray();
        double expected = Math.Log((Math.Exp(-6) + Math.Exp(-4)) / 2);
        Assert.Equal(expected, DynamicsMatch.PowerLevel(take, Bins), 6);
        double seedLevel = expected - 1.2;

        var untouched = take.ToArray();
        Assert.Equal(0, DynamicsMatch.MatchLevel(seedLevel, untouched, Bins, 0));
        Assert.Equal(take, untouched);
        var matched = take.ToArray();
        Assert.Equal(-0.6f, DynamicsMatch.MatchLevel(seedLevel, matched, Bins, 1), 5); // power is magnitude squared
        Assert.Equal(seedLevel, DynamicsMatch.PowerLevel(matched, Bins), 5);
        for (int j = 0; j < take.Length; j++) Assert.Equal(take[j] - 0.6f, matched[j], 5); // one shift for every bin and frame
        var half = take.ToArray();
        DynamicsMatch.MatchLevel(seedLevel, half, Bins, 0.5);
        Assert.Equal(expected - 0.6, DynamicsMatch.PowerLevel(half, Bins), 5);
        // A seed far quieter: the shift stops at the bound; no frame or a silent seed: nothing moves.
        var far = take.ToArray();
        Assert.Equal(-DynamicsMatch.LevelBound, DynamicsMatch.MatchLevel(expected - 10, far, Bins, 1));
        Assert.Equal(0, DynamicsMatch.MatchLevel(double.NegativeInfinity, take.ToArray(), Bins, 1));
        Assert.Equal(double.NegativeInfinity, DynamicsMatch.PowerLevel([], Bins));
    }

    [Fact]
    public void Dynamics_match_narrows_a_takes_swells_toward_its_seeds_and_keeps_its_notes()
    {
        // The take swells by 1.5 units over 4 s (172 frames) and carries a pluck every 10 frames; the seed's slow level
        // moves a quarter as far.
        var rng = new Random(5);
        float[] Frames(int count, double swell) => Enumerable.Range(0, count * Bins).Select(j =>
        {
            int t = j / Bins, i = j % Bins;
            return (float)(-2 + swell * Math.Sin(2 * Math.PI * t / 172) - (t % 10 == 0 ? 0 : 0.8) - 0.01 * i + 0.02 * rng.NextDouble());
        }).ToArray();
        var seed = Frames(430, 0.375);
        var take = Frames(860, 1.5);
        double seedMovement = DynamicsMatch.SlowMovement(seed, Bins), before = DynamicsMatch.SlowMovement(take, Bins);
        Assert.InRange(seedMovement / before, 0.2, 0.3);

        var untouched = take.ToArray();
        Assert.Equal(1, DynamicsMatch.Apply(seedMovement, untouched, Bins, 0));
        Assert.Equal(take, untouched);

        // Strength 1: the take moves as far as its seed; 0.5: halfway in ratio (the square root of a quarter).
        var matched = take.ToArray();
        double factor = DynamicsMatch.Apply(seedMovement, matched, Bins, 1);
        Assert.InRange(DynamicsMatch.SlowMovement(matched, Bins) / seedMovement, 0.9, 1.1);
        var half = take.ToArray();
        DynamicsMatch.Apply(seedMovement, half, Bins, 0.5);
        Assert.InRange(DynamicsMatch.SlowMovement(half, Bins) / before, 0.45, 0.6);

        // The plucks within each second and the take's mean level stay: within a frame every bin gets the same gain,
        // and a pluck still rises 0.8 above the frame before it.
        Assert.Equal(GrooveMatch.Levels(take, Bins).Average(), GrooveMatch.Levels(matched, Bins).Average(), 1);
        var levels = GrooveMatch.Levels(matched, Bins);
        for (int t = 10; t < 850; t += 10) Assert.InRange(levels[t] - levels[t - 1], 0.7, 0.9);
        for (int i = 1; i < Bins; i++) Assert.Equal(take[300 * Bins + i] - take[300 * Bins], matched[300 * Bins + i] - matched[300 * Bins], 4);

        // A seed that moves far more than the take widens it, up to the bound; a flat seed or take is left alone.
        var widened = take.ToArray();
        Assert.Equal(DynamicsMatch.LargestFactor, DynamicsMatch.Apply(100 * before, widened, Bins, 1));
        Assert.Equal(1, DynamicsMatch.Apply(0, take.ToArray(), Bins, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => DynamicsMatch.Apply(seedMovement, take.ToArray(), Bins, -1));
        Assert.True(factor < 1);
    }

    [Fact]
    public void Slow_level_is_the_power_a_second_is_heard_at()
    {
        // A second of one-frame bursts (one frame in four at 0, the rest near silence) carries the power of a steady
        // frame at ln(1/4)/2: the slow level hears the two halves as one level, where a mean of log levels read the
        // bursts as 7 units quieter.
        float[] Frames(int count, Func<int, float> level) => Enumerable.Range(0, count * Bins).Select(j => level(j / Bins)).ToArray();
        var steady = Frames(200, _ => (float)(0.5 * Math.Log(0.25)));
        var bursts = Frames(200, t => t % 4 == 0 ? 0f : -10f);
        var both = steady.Concat(bursts).ToArray();
        var slow = DynamicsMatch.SlowLevel(GrooveMatch.Levels(both, Bins));
        Assert.InRange(slow[300] - slow[100], -0.03, 0.03); // 11 bursts in the 43 frames about frame 300: 0.256 of the power
        Assert.True(DynamicsMatch.SlowMovement(both, Bins) < 0.05, $"movement {DynamicsMatch.SlowMovement(both, Bins):F3}");
    }

    [Fact]
    public void Typical_movement_is_a_songs_median_over_stretches_as_long_as_a_take()
    {
        // A song steady for 400 frames, then swelling by 1.5 units every 172 frames for 1200: most 400-frame
        // stretches swell, so its typical movement is the swell's, not the steady opening's.
        float[] Song(int steadyFrames, int swellingFrames) => Enumerable.Range(0, (steadyFrames + swellingFrames) * Bins).Select(j =>
        {
            int t = j / Bins;
            return (float)(-2 + (t < steadyFrames ? 0 : 1.5 * Math.Sin(2 * Math.PI * t / 172)));
        }).ToArray();
        var song = Song(400, 1200);
        var opening = song.AsSpan(0, 400 * Bins).ToArray();
        var swelling = song.AsSpan(800 * Bins, 400 * Bins).ToArray();
        double typical = DynamicsMatch.TypicalMovement(GrooveMatch.Levels(song, Bins), 400);
        Assert.True(DynamicsMatch.SlowMovement(opening, Bins) < 0.01);
        Assert.InRange(typical / DynamicsMatch.SlowMovement(swelling, Bins), 0.85, 1.15); // stretches differ by where in the swell they start
        // No longer than one take: the whole song's movement.
        Assert.Equal(DynamicsMatch.SlowMovement(song, Bins), DynamicsMatch.TypicalMovement(GrooveMatch.Levels(song, Bins), 1600));
        Assert.Equal(DynamicsMatch.SlowMovement(opening, Bins), DynamicsMatch.TypicalMovement(GrooveMatch.Levels(opening, Bins), 800));
        Assert.Throws<ArgumentOutOfRangeException>(() => DynamicsMatch.TypicalMovement(GrooveMatch.Levels(song, Bins), 0));
    }

    [Fact]
    public void Level_reader_gives_each_hops_level_from_samples_block_by_block()
    {
        // 44100 Hz at a hop of 512 / 22050 s: 1024 samples a level. A stereo clip whose mix is 0.5 for 2048 samples,
        // then 0.1: ln(0.25) / 2 twice, then ln(0.01) / 2; blocks of any size give the same levels.
        var left = Enumerable.Range(0, 4096).Select(n => n < 2048 ? 0.8f : 0.1f).ToArray();
        var right = Enumerable.Range(0, 4096).Select(n => n < 2048 ? 0.2f : 0.1f).ToArray();
        var reader = new DynamicsMatch.LevelReader(512 / 22050.0);
        reader.Add([left[..1000], right[..1000]], 1000, 44100);
        reader.Add([left[1000..], right[1000..]], 3096, 44100);
        var levels = reader.Levels();
        Assert.Equal(4, levels.Length);
        Assert.Equal(0.5 * Math.Log(0.25), levels[0], 6);
        Assert.Equal(0.5 * Math.Log(0.25), levels[1], 6);
        Assert.Equal(0.5 * Math.Log(0.01), levels[2], 6);
        // At 48000 Hz a hop is 1114.56 samples: 10 s give 430 levels, as many frames as the model's hop gives.
        var other = new DynamicsMatch.LevelReader(512 / 22050.0);
        other.Add([new float[480000]], 480000, 48000);
        Assert.Equal(430, other.Levels().Length);
        // A decoder starting over forgets what it read.
        reader.Restart();
        Assert.Empty(reader.Levels());
        reader.Add([left, right], 4096, 44100);
        Assert.Equal(levels, reader.Levels());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DynamicsMatch.LevelReader(0));
    }
}
