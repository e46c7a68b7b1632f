using MusicGen.Estimators.Tokens;
using Microsoft.ML;
using Microsoft.ML.Data;
using MusicGen.Estimators;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;
using MusicGen.Evaluation;
using MusicGen.Transforms.Network;
using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Tokens;
using MusicGen.Transforms.Torch;
using TorchSharp;

namespace MusicGen.Tests;

public class TokenModelTests
{
    internal static PipelineSettings TinyTokens() => PipelineSettings.Seed2017Model() with
    {
        Epochs = 2,
        Ordering = BatchOrdering.ContiguousStreams,
        BatchSize = 2,
        SequenceLength = 8,
        Layers = 1,
        HiddenSize = 16,
        Dropout = 0.1f,
        TokenCount = 16,
        EmbeddingSize = 8,
        FrameSize = 256,
        Hop = 64,
        MelBands = 16,
        EnvelopeBands = 16,
        EnvelopeSteps = 20,
        SampleRate = 8000,
        Channels = 1,
        ValidationFraction = 0.1,
    };

    [Fact]
    public void Codebook_finds_distinct_spectra_and_decodes_to_real_frames()
    {
        // Three spectra (peaks at bins 5, 20 and 40 of 65), each with small jitter, 100 frames of each, in two files.
        var rng = new Random(3);
        float[] Frame(int kind)
        {
            var f = new float[65];
            for (int i = 0; i < 65; i++) f[i] = -6 + 0.05f * (float)rng.NextDouble();
            f[new[] { 5, 20, 40 }[kind]] = 0;
            return f;
        }
        var kinds = Enumerable.Range(0, 300).Select(i => i % 3).ToArray();
        var frames = kinds.Select(Frame).ToArray();
        var files = new[] { frames.Take(150).SelectMany(f => f).ToArray(), frames.Skip(150).SelectMany(f => f).ToArray() };
        var codebook = CodebookFitting.Fit(files, 65, 8000, tokenCount: 3, bands: 16);

        var tokens = codebook.Encode(files.SelectMany(f => f).ToArray());
        for (int i = 0; i < 300; i++) Assert.Equal(tokens[kinds[i]], tokens[i]);   // one token per kind
        Assert.Equal(3, tokens.Distinct().Count());
        Assert.Equal([100L, 100L, 100L], codebook.Frequencies);
        Assert.Equal(0, codebook.RepeatRate);
        var decoded = codebook.Decode([tokens[0]]);
        Assert.Contains(frames, f => f.SequenceEqual(decoded));                      // a real frame, not an average

        var stream = new MemoryStream();
        codebook.Save(new BinaryWriter(stream));
        stream.Position = 0;
        var loaded = Codebook.Load(new BinaryReader(stream));
        Assert.Equal(tokens, loaded.Encode(files.SelectMany(f => f).ToArray()));
    }

    [Fact]
    public void Codebook_streams_the_files_twice_and_clusters_a_sample_but_counts_every_frame()
    {
        // 40 files of 50 frames, each frame one of four spectra; only 200 of the 2000 frames are clustered.
        var rng = new Random(4);
        int[] peaks = [3, 12, 30, 50];
        float[] File(int index) => Enumerable.Range(0, 50).SelectMany(t =>
        {
            var f = new float[65];
            for (int i = 0; i < 65; i++) f[i] = -6 + 0.05f * (float)rng.NextDouble();
            f[peaks[(t + index) % 4]] = 0;
            return f;
        }).ToArray();
        var files = Enumerable.Range(0, 40).Select(File).ToList();
        int passes = 0;
        IEnumerable<float[]> Read()
        {
            passes++;
            foreach (var f in files) yield return f;
        }
        var codebook = CodebookFitting.Fit(Read, 65, 8000, tokenCount: 4, bands: 16, maxClusteringFrames: 200);
        Assert.Equal(2, passes);
        Assert.Equal(2000, codebook.Frequencies.Sum());
        Assert.Equal([500L, 500L, 500L, 500L], codebook.Frequencies.Order().ToArray());
        for (int k = 0; k < 4; k++)   // every medoid is a real frame of its own kind
        {
            var frame = codebook.Decode([k]);
            Assert.Equal(0f, frame.Max());
            Assert.Equal(k, codebook.EncodeFrame(frame));
        }
    }

    [Fact]
    public void Sampler_honours_temperature_and_top_k()
    {
        float[] logits = [0f, 1f, 2f, 0.5f];
        var random = new Random(1);
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(2, new TokenSampler(4, 0, 0).Sample(logits, random)));
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(2, new TokenSampler(4, 1, 1).Sample(logits, random)));
        var topTwo = new TokenSampler(4, 1, 2);
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Contains(topTwo.Sample(logits, random), new[] { 1, 2 }));

        var sampler = new TokenSampler(4, 1, 0);
        var counts = new int[4];
        for (int i = 0; i < 40000; i++) counts[sampler.Sample(logits, random)]++;
        double z = logits.Sum(l => Math.Exp(l));
        for (int k = 0; k < 4; k++) Assert.InRange(counts[k] / 40000.0, Math.Exp(logits[k]) / z - 0.01, Math.Exp(logits[k]) / z + 0.01);
    }

    private sealed class TokenRow
    {
        public string File { get; set; } = "";
        public int FrameIndex { get; set; }
        [VectorType(1)] public float[] Token { get; set; } = [];
    }

    [Fact]
    public void Relabelling_renames_a_share_of_the_streams_each_through_one_permutation()
    {
        const int tokenCount = 32, steps = 200, streams = 40;
        var rng = new Random(7);
        var sequence = Enumerable.Range(0, (steps + 1) * streams).Select(_ => (float)rng.Next(tokenCount)).ToArray();
        using var all = torch.tensor(sequence, [steps + 1, streams, 1]);
        using var inputs = all.narrow(0, 0, steps);
        using var targets = all.narrow(0, 1, steps);
        torch.manual_seed(3);
        var (renamedInputs, renamedTargets) = Estimators.Training.LstmTrainer.Relabelled(inputs, targets, tokenCount, 0.5);
        float[] Values(torch.Tensor t) => t.contiguous().data<float>().ToArray();
        var (x, y, rx, ry) = (Values(inputs), Values(targets), Values(renamedInputs), Values(renamedTargets));
        int renamed = 0;
        for (int b = 0; b < streams; b++)
        {
            // One table per stream: every occurrence of a token, as input or as target, becomes the same token.
            var table = new Dictionary<float, float>();
            for (int t = 0; t < steps; t++)
                foreach (var (from, to) in new[] { (x[t * streams + b], rx[t * streams + b]), (y[t * streams + b], ry[t * streams + b]) })
                    Assert.Equal(to, table.TryAdd(from, to) ? to : table[from]);
            Assert.Equal(table.Count, table.Values.Distinct().Count()); // a permutation: no two tokens merge
            Assert.All(table.Values, v => Assert.InRange(v, 0, tokenCount - 1));
            if (table.Any(p => p.Key != p.Value)) renamed++;
        }
        Assert.InRange(renamed, 10, 30); // about half of the 40 streams
        var (same, sameTargets) = Estimators.Training.LstmTrainer.Relabelled(inputs, targets, tokenCount, 0);
        Assert.Same(inputs, same);
        Assert.Same(targets, sameTargets);
        var refused = Assert.Throws<ArgumentException>(() => new LstmForecastingEstimator.Options { TokenCount = tokenCount, RelabelShare = 1 }.Validate());
        Assert.Contains("RelabelShare must be in [0, 1)", refused.Message);
    }

    [Fact]
    public void Token_validation_baselines_are_computed_on_a_hand_made_sequence()
    {
        var ml = new MLContext(seed: 1);
        // Tokens 0,0,1,1,0,0,1,1,... (41 frames, one stream, 3 tokens); the last 10 steps are held out.
        int Token(int i) => i / 2 % 2;
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 41).Select(i => new TokenRow { File = "a", FrameIndex = i, Token = [Token(i)] }));
        var batched = ml.Transforms.BatchStatefully(new StatefulBatchingEstimator.Options
        {
            Ordering = BatchOrdering.ContiguousStreams,
            BatchSize = 1,
            FeaturesColumnName = "Token",
        }).Fit(data).Transform(data);
        var reports = new List<TrainingProgress>();
        ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
        {
            Epochs = 1,
            HiddenSizes = [4],
            Dropouts = [0f],
            TokenCount = 3,
            EmbeddingSize = 2,
            FeaturesColumnName = "Token",
            ValidationFraction = 0.25,
            Progress = p => { if (p.EpochDone) reports.Add(p); },
        }).Fit(batched).Dispose();

        var v = Assert.Single(reports).Validation!;
        Assert.Equal(10, v.Frames);
        // Trained inputs: frames 0..29 (16 zeros, 14 ones, no twos); 15 of their 29 consecutive pairs repeat.
        double r = 15.0 / 29;
        double Unigram(int t) => new[] { 16 + 1.0, 14 + 1.0, 0 + 1.0 }[t] / (30 + 3);
        double repeat = Enumerable.Range(30, 10).Average(i => -Math.Log((Token(i) == Token(i + 1) ? r : 0) + (1 - r) * Unigram(Token(i + 1))));
        double unigram = Enumerable.Range(30, 10).Average(i => -Math.Log(Unigram(Token(i + 1))));
        Assert.Equal(repeat, v.RepeatPrevious, 6);
        Assert.Equal(unigram, v.Average, 6);
        Assert.True(v.Loss > 0 && double.IsFinite(v.Loss));
    }

    /// <summary>A tiny token model fitted on two 3 s melodies in <paramref name="temp"/>, saved, and the generator of the model loaded back.</summary>
    private static (TransformerChain<ITransformer> Fitted, MusicGenerator Loaded, string Songs, string Path) FitSaveAndLoad(TempFolder temp, PipelineSettings settings)
    {
        var ml = new MLContext(seed: 1);
        string songs = TestAudio.MelodyFolder(temp, count: 2, seconds: 3);
        var files = ml.Data.LoadAudioFiles([songs]);
        var fitted = ml.Transforms.TokenModel(settings).Fit(files);
        string path = temp.File("tokens.zip");
        ModelFile.Save(ml, fitted, files.Schema, path);
        return (fitted, new MusicGenerator(ModelFile.Load(new MLContext(), path)), songs, path);
    }

    [Fact]
    public void A_token_model_with_the_texture_input_saves_reloads_and_holds_its_seeds_texture_while_sampling()
    {
        using var temp = new TempFolder();
        var (fitted, generator, songs, path) = FitSaveAndLoad(temp, TinyTokens() with { TextureInput = true });
        var network = generator.Stages.Network.Network;
        Assert.True(network.TextureInput);
        string seed = Path.Combine(songs, "song0.wav");
        var options = new GenerationOptions { Seconds = 3, Takes = 3, RandomSeed = 5 };
        var held = generator.SampleTokens(seed, options);
        Assert.Equal(held, new MusicGenerator(fitted).SampleTokens(seed, options));
        Assert.False(network.HoldTexture); // set for the sampling only
        generator.SampleTokens(seed, new GenerationOptions { Seconds = 3, Takes = 3, RandomSeed = 5, HoldSeedBeat = true });
        Assert.False(network.HoldBeat);    // likewise
        var moving = generator.SampleTokens(seed, new GenerationOptions { Seconds = 3, Takes = 3, RandomSeed = 5, HoldSeedTexture = false });
        Assert.NotEqual(held.SelectMany(t => t), moving.SelectMany(t => t));
        Assert.False(new MusicGenerator(ModelFile.Load(new MLContext(), path)).Stages.Network.Network.HoldTexture);
    }

    [Fact]
    public void A_token_model_with_the_onset_term_learns_its_gain_and_saves_reloads_and_samples_as_fitted()
    {
        using var temp = new TempFolder();
        var (fitted, generator, songs, path) = FitSaveAndLoad(temp, TinyTokens() with { OnsetTerm = true });
        var network = generator.Stages.Network.Network;
        Assert.True(network.OnsetTerm);
        Assert.NotEqual(0, network.OnsetGain); // it starts at 0 and trains
        Assert.Equal(new MusicGenerator(fitted).Stages.Network.Network.OnsetGain, network.OnsetGain);
        string seed = Path.Combine(songs, "song0.wav");
        var options = new GenerationOptions { Seconds = 3, Takes = 2, RandomSeed = 5 };
        Assert.Equal(new MusicGenerator(fitted).SampleTokens(seed, options), generator.SampleTokens(seed, options));
        using var plainTemp = new TempFolder();
        var (_, plain, _, _) = FitSaveAndLoad(plainTemp, TinyTokens());
        Assert.False(plain.Stages.Network.Network.OnsetTerm);
    }

    [Fact]
    public void Relabelled_training_reaches_the_network_and_its_model_saves_reloads_and_samples_as_fitted()
    {
        using var temp = new TempFolder();
        var (fitted, relabelled, songs, _) = FitSaveAndLoad(temp, TinyTokens() with { RelabelShare = 0.5f });
        string seed = Path.Combine(songs, "song0.wav");
        var options = new GenerationOptions { Seconds = 3, Takes = 2, RandomSeed = 5 };
        var takes = relabelled.SampleTokens(seed, options);
        Assert.Equal(takes, new MusicGenerator(fitted).SampleTokens(seed, options));
        using var plainTemp = new TempFolder();
        var (_, plain, plainSongs, _) = FitSaveAndLoad(plainTemp, TinyTokens());
        Assert.NotEqual(takes.SelectMany(t => t), plain.SampleTokens(Path.Combine(plainSongs, "song0.wav"), options).SelectMany(t => t));
    }

    [Fact]
    public void A_token_model_with_members_saves_reloads_and_plays_the_same_takes_over_the_same_tokens()
    {
        using var temp = new TempFolder();
        // Envelope bands a bin apart, fine enough to resolve partials (the members are chosen by them).
        var settings = TinyTokens() with { EnvelopeBands = 96 };
        var (fitted, generator, songs, _) = FitSaveAndLoad(temp, settings with { Members = 4 });
        Assert.Equal(4, generator.Tokenizer!.Codebook.MembersPerToken);
        string seed = Path.Combine(songs, "song0.wav");
        var options = new GenerationOptions { Seconds = 2, Takes = 2, RandomSeed = 4 };
        var tokens = generator.SampleTokens(seed, options);
        var played = generator.DecodeTokens(seed, tokens, options);
        Assert.Equal(played, new MusicGenerator(fitted).DecodeTokens(seed, tokens, options));
        // The members draw from their own random stream: one member a token leaves the codebook and network as they were.
        var medoids = new MusicGenerator(new MLContext(seed: 1).Transforms.TokenModel(settings).Fit(new MLContext(seed: 1).Data.LoadAudioFiles([songs])));
        Assert.Equal(1, medoids.Tokenizer!.Codebook.MembersPerToken);
        Assert.Equal(tokens, medoids.SampleTokens(seed, options));
        Assert.NotEqual(played.SelectMany(f => f), medoids.DecodeTokens(seed, tokens, options).SelectMany(f => f));
    }

    [Fact]
    public void Seed_backoff_draws_the_backoffs_other_sounds_from_the_seeds_own_and_puts_the_trained_frequencies_back()
    {
        using var temp = new TempFolder();
        var (_, generator, _, _) = FitSaveAndLoad(temp, TinyTokens());
        var network = generator.Stages.Network.Network;
        // A backoff that carries nearly every step's probability and never repeats: what is drawn is its unigram's.
        network.SetBackoff(Enumerable.Repeat(1L, network.TokenCount).ToList(), repeatRate: 0, weight: 0.99999);
        var trained = network.BackoffUnigram;
        string twoNotes = temp.File("two-notes.wav");
        WavWriter.Write(twoNotes, TestAudio.Melody(8000, 0.5, 1));
        var stages = generator.Stages;
        var played = generator.Tokenizer!.Codebook.Encode(stages.Vectorizer.Vectorize(stages.Loader.Load(twoNotes).Channels)).ToHashSet();
        Assert.InRange(played.Count, 1, network.TokenCount / 2);
        var options = (double share) => new GenerationOptions { Seconds = 2, Takes = 4, BeatGuidance = 0, SeedBackoff = share };
        double Share(double share) => generator.SampleTokens(twoNotes, options(share)).SelectMany(t => t).Average(t => played.Contains(t) ? 1.0 : 0.0);
        var before = generator.SampleTokens(twoNotes, options(0));
        Assert.Equal(1.0, Share(1));
        double none = Share(0);
        Assert.True(none < 0.9, $"share of the seed's tokens without the seed backoff: {none:F2}");
        // Sampling put the trained frequencies back: the same takes as before.
        Assert.Equal(trained, network.BackoffUnigram);
        Assert.Equal(before, generator.SampleTokens(twoNotes, options(0)));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(twoNotes, options(1.5)));
    }

    [Fact]
    public void Token_pipeline_saves_reloads_and_samples_takes_in_a_batch_as_one_by_one()
    {
        using var temp = new TempFolder();
        var (fitted, generator, songs, _) = FitSaveAndLoad(temp, TinyTokens());
        Assert.NotNull(generator.Tokenizer);
        string seed = Path.Combine(songs, "song0.wav");

        var batch = generator.SampleTokens(seed, new GenerationOptions { Seconds = 1, Takes = 3, RandomSeed = 5 });
        Assert.Equal(3, batch.Count);
        for (int k = 0; k < 3; k++)
            Assert.Equal(batch[k], generator.SampleTokens(seed, new GenerationOptions { Seconds = 1, RandomSeed = 5 + k })[0]);
        Assert.NotEqual(batch[0], batch[1]);   // different random seeds sample differently
        Assert.Equal(batch[0], new MusicGenerator(fitted).SampleTokens(seed, new GenerationOptions { Seconds = 1, RandomSeed = 5 })[0]);
        // The default preset has a beat clock: its guide changes what is drawn; guidance 0 samples the network as it is.
        Assert.True(generator.Stages.Network.Network.BeatClock);
        Assert.NotEqual(batch[0], generator.SampleTokens(seed, new GenerationOptions { Seconds = 1, RandomSeed = 5, BeatGuidance = 0 })[0]);
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { BeatGuidance = -1 }));
        // A seed prior keeps the take among the seed's own tokens: from two notes of the melody, the share of drawn
        // tokens that the seed plays rises with it.
        string twoNotes = temp.File("two-notes.wav");
        WavWriter.Write(twoNotes, TestAudio.Melody(8000, 0.5, 1));
        var stages = generator.Stages;
        var played = generator.Tokenizer!.Codebook.Encode(stages.Vectorizer.Vectorize(stages.Loader.Load(twoNotes).Channels)).ToHashSet();
        double Share(double prior) => generator.SampleTokens(twoNotes, new GenerationOptions { Seconds = 2, Takes = 4, SeedPrior = prior })
            .SelectMany(t => t).Average(t => played.Contains(t) ? 1.0 : 0.0);
        double none = Share(0), strong = Share(4);
        Assert.True(strong > none && strong > 0.9, $"share of the seed's tokens: {none:F2} without the prior, {strong:F2} with it");
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { SeedPrior = -1 }));
        // Song memory 1: every change of sound goes to one the song itself changed to, so the take plays only the
        // seed's tokens; 0 samples the network alone (the same takes as before it existed: no extra draws).
        double Remembered(double memory) => generator.SampleTokens(twoNotes, new GenerationOptions { Seconds = 2, Takes = 4, SongMemory = memory })
            .SelectMany(t => t).Average(t => played.Contains(t) ? 1.0 : 0.0);
        Assert.Equal(1.0, Remembered(1));
        Assert.Equal(none, Remembered(0));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { SongMemory = 1.5 }));
        // Seed contexts 1: every change of sound goes where the seed itself changed to, so the take plays only the
        // seed's tokens; 0 samples the network alone, the same takes to the token.
        var contextOptions = (double weight) => new GenerationOptions { Seconds = 2, Takes = 4, SeedContexts = weight };
        Assert.Equal(1.0, generator.SampleTokens(twoNotes, contextOptions(1)).SelectMany(t => t).Average(t => played.Contains(t) ? 1.0 : 0.0));
        Assert.Equal(generator.SampleTokens(twoNotes, new GenerationOptions { Seconds = 2, Takes = 4 }), generator.SampleTokens(twoNotes, contextOptions(0)));
        Assert.NotEqual(generator.SampleTokens(twoNotes, contextOptions(0)), generator.SampleTokens(twoNotes, contextOptions(0.5)));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { SeedContexts = 1.5 }));
        // Seed adaptation (on by default) fits the network's memory gains for the call only: the takes differ from the
        // trained gains' (0), and the model's own gains are the same after it.
        var gains = generator.Stages.Network.Network.MemoryGains;
        var trained = gains.Select(Tensors.ToArray).ToArray();
        var adapted = generator.SampleTokens(twoNotes, new GenerationOptions { Seconds = 2, Takes = 4 });
        Assert.Equal(trained, gains.Select(Tensors.ToArray).ToArray());
        Assert.NotEqual(adapted.SelectMany(t => t), generator.SampleTokens(twoNotes, new GenerationOptions { Seconds = 2, Takes = 4, SeedAdaptation = 0 }).SelectMany(t => t));
        Assert.Equal(adapted, generator.SampleTokens(twoNotes, new GenerationOptions { Seconds = 2, Takes = 4 }));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { SeedAdaptation = -1 }));

        var greedy = generator.SampleTokens(seed, new GenerationOptions { Seconds = 1, Temperature = 0, Takes = 2, RandomSeed = 1 });
        Assert.Equal(greedy[0], greedy[1]);    // temperature 0 ignores the random seed
        Assert.Equal(greedy[0], generator.SampleTokens(seed, new GenerationOptions { Seconds = 1, Temperature = 0, RandomSeed = 9 })[0]);

        var takes = generator.GenerateTakes(seed, new GenerationOptions { Seconds = 1, Takes = 2 });
        Assert.All(takes, t => Assert.Equal(8000, t.Length));
        var again = generator.Generate(seed, new GenerationOptions { Seconds = 1, RandomSeed = 2 });
        Assert.Equal(takes[1].Channels[0], again.Channels[0]);
        // The codec's envelope channel is saved with it: the reloaded model plays what the fitted one plays.
        Assert.Equal(16, generator.Tokenizer!.Envelope!.Envelope.Bands);
        Assert.Equal(new MusicGenerator(fitted).Generate(seed, new GenerationOptions { Seconds = 1, RandomSeed = 2 }).Channels[0], again.Channels[0]);
        // Seed timbre: the same tokens, decoded from a seed 20 dB quieter than the training, take on the seed's level.
        string quiet = temp.File("quiet.wav");
        WavWriter.Write(quiet, new AudioClip(8000, [TestAudio.Melody(8000, 3, 1).Channels[0].Select(x => x * 0.1f).ToArray()]));
        var quietTokens = generator.SampleTokens(quiet, new GenerationOptions { Seconds = 1 });
        var quietFrames = stages.Vectorizer.Vectorize(stages.Loader.Load(quiet).Channels);
        double Level(float[] frames) => frames.Average(v => (double)v);
        double plain = Level(generator.DecodeTokens(quiet, quietTokens, new GenerationOptions { SeedTimbre = 0 })[0]);
        double matched = Level(generator.DecodeTokens(quiet, quietTokens, new GenerationOptions { SeedTimbre = 1 })[0]);
        Assert.True(Math.Abs(matched - Level(quietFrames)) < 0.5 * Math.Abs(plain - Level(quietFrames)),
            $"mean log magnitude: seed {Level(quietFrames):F2}, take {plain:F2}, with seed timbre {matched:F2}");
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { SeedTimbre = 1.5 }));
        // Seed dynamics: the same tokens' swells over seconds come nearer the seed's.
        int bins = generator.Tokenizer.Codebook.Bins;
        var longTokens = generator.SampleTokens(quiet, new GenerationOptions { Seconds = 6 });
        double Movement(double strength) => DynamicsMatch.SlowMovement(generator.DecodeTokens(quiet, longTokens, new GenerationOptions { SeedDynamics = strength })[0], bins);
        double seedMovement = DynamicsMatch.SlowMovement(quietFrames, bins), free = Movement(0), followed = Movement(1);
        // (The take moves 9 times as far as the seed here; one match narrows it by at most LargestFactor.)
        Assert.True(followed < free / 2 && followed > 0.9 * seedMovement,
            $"slow level movement: seed {seedMovement:F3}, take {free:F3}, with seed dynamics {followed:F3}");
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { SeedDynamics = 1.5 }));
        // ... and by default the seed's movement is its song's over stretches as long as the take, not the primed
        // excerpt's: a song that opens steadily and then swells widens its takes, unless ExcerptDynamics.
        string swelling = temp.File("swelling.wav");
        var melody = TestAudio.Melody(8000, 10, 1).Channels[0];
        WavWriter.Write(swelling, new AudioClip(8000, [melody.Select((x, n) => x * (float)(n < 16000 ? 0.1 : 0.02 + 0.48 * (0.5 + 0.5 * Math.Sin(2 * Math.PI * n / 16000.0)))).ToArray()]));
        var primed = new GenerationOptions { Seconds = 3, PrimeSeconds = 2, SkipQuietIntro = false };
        var swellTokens = generator.SampleTokens(swelling, primed);
        var songFrames = stages.Vectorizer.Vectorize(stages.Loader.Load(swelling).Channels);
        var songTake = generator.DecodeTokens(swelling, swellTokens, primed)[0];
        var excerptTake = generator.DecodeTokens(swelling, swellTokens, new GenerationOptions { Seconds = 3, PrimeSeconds = 2, ExcerptDynamics = true, SkipQuietIntro = false })[0];
        double songMovement = DynamicsMatch.TypicalMovement(GrooveMatch.Levels(songFrames, bins), songTake.Length / bins);
        double excerptMovement = DynamicsMatch.SlowMovement(songFrames.AsSpan(0, stages.Vectorizer.Vectorize([melody[..16000]]).Length), bins);
        double toSong = DynamicsMatch.SlowMovement(songTake, bins), toExcerpt = DynamicsMatch.SlowMovement(excerptTake, bins);
        Assert.True(songMovement > 3 * excerptMovement && Math.Abs(Math.Log(toSong / songMovement)) < 0.2 && toExcerpt < toSong / 2,
            $"slow level movement: song {songMovement:F3}, excerpt {excerptMovement:F3}; takes aimed at the song {toSong:F3}, at the excerpt {toExcerpt:F3}");
        // With SongTimbre the seed timbre's balance is its song's: a song that opens quietly and then plays six times as
        // loud brings its takes' band energies near its whole song's, not its intro's.
        string intro = temp.File("intro.wav");
        WavWriter.Write(intro, new AudioClip(8000, [melody.Select((x, n) => x * (n < 16000 ? 0.1f : 0.6f)).ToArray()]));
        var introTokens = generator.SampleTokens(intro, primed);
        var balance = new MelEnvelope(TimbreMatch.Bands, stages.Vectorizer.Settings.FrameSize, 8000);
        var introSong = stages.Vectorizer.Vectorize(stages.Loader.Load(intro).Channels);
        var songMeans = TimbreMatch.MeanEnergies(balance, introSong);
        var introMeans = TimbreMatch.MeanEnergies(balance, introSong.AsSpan(0, stages.Vectorizer.Vectorize([melody[..16000]]).Length));
        double Apart(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Average();
        double[] Timbred(bool song) => TimbreMatch.MeanEnergies(balance, generator.DecodeTokens(intro, introTokens,
            new GenerationOptions { Seconds = 3, PrimeSeconds = 2, SeedTimbre = 1, SeedDynamics = 0, SeedGroove = 0, SongTimbre = song, SkipQuietIntro = false })[0]);
        var (songMatched, introMatched) = (Timbred(true), Timbred(false));
        double apart = Apart(songMeans, introMeans);
        Assert.True(apart > 0.5 && Apart(songMatched, songMeans) < 0.5 * Apart(songMatched, introMeans) && Apart(introMatched, introMeans) < 0.5 * Apart(introMatched, songMeans),
            $"mean band log energies: song and intro {apart:F2} apart; the take matched to the song {Apart(songMatched, songMeans):F2} from it and {Apart(songMatched, introMeans):F2} from the intro, "
            + $"the take matched to the intro {Apart(introMatched, introMeans):F2} from it and {Apart(introMatched, songMeans):F2} from the song");
        // Skipping the quiet intro: priming starts where the song first reaches its level (a 2 s window half loud: 1 s),
        // and the takes are those primed from there; without it, from the offset.
        var skipping = new GenerationOptions { Seconds = 3, PrimeSeconds = 2 }; // SkipQuietIntro by default
        double start = generator.PrimeStart(intro, skipping);
        Assert.InRange(start, 0.9, 1.1);
        Assert.Equal(0, generator.PrimeStart(intro, primed));
        double reported = -1;
        generator.SampleTokens(intro, new GenerationOptions { Seconds = 1, PrimeSeconds = 2, PrimeStarted = s => reported = s });
        Assert.Equal(start, reported);
        Assert.Equal(generator.SampleTokens(intro, new GenerationOptions { Seconds = 3, PrimeSeconds = 2, SeedOffsetSeconds = start, SkipQuietIntro = false }), generator.SampleTokens(intro, skipping));
        Assert.Equal(5, generator.PrimeStart(intro, new GenerationOptions { PrimeSeconds = 2, SeedOffsetSeconds = 5 }));
        // Seed level: after the other matches, the same tokens' frames take the seed's mean frame power.
        double seedPower = DynamicsMatch.PowerLevel(quietFrames, bins);
        double Power(double strength) => DynamicsMatch.PowerLevel(generator.DecodeTokens(quiet, longTokens, new GenerationOptions { SeedLevel = strength, PartialSustain = 0 })[0], bins);
        double unlevelled = Power(0);
        Assert.True(Math.Abs(unlevelled - seedPower) > 0.2, $"power level: seed {seedPower:F2}, take {unlevelled:F2}");
        Assert.Equal(seedPower, Power(1), 3);
        Assert.Equal((seedPower + unlevelled) / 2, Power(0.5), 3);
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { SeedLevel = 1.5 }));
        // Seed level applies before partial sustain (the default), which makes the frames louder again: it is off above.
        // Partial sustain: the same tokens' frames, their partials held (by default), are nowhere quieter and somewhere louder.
        var unheld = generator.DecodeTokens(quiet, longTokens, new GenerationOptions { PartialSustain = 0 })[0];
        var sustained = generator.DecodeTokens(quiet, longTokens)[0];
        Assert.True(unheld.Zip(sustained).All(p => p.Second >= p.First) && unheld.Zip(sustained).Any(p => p.Second > p.First));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { PartialSustain = -1 }));
        // The loop guard: greedy takes never hold a token longer than its limit (the training's longest hold, or the
        // primed excerpt's), and without it they do: the limit is what stops them.
        var primeTokens = generator.Tokenizer.Codebook.Encode(quietFrames);
        int limit = MusicGenerator.LoopGuardLimit(generator.Tokenizer.Codebook.LongestHold, primeTokens);
        int LongestRun(int[] tokens) => tokens.Select((t, i) => tokens.Skip(i).TakeWhile(u => u == t).Count()).Max();
        Assert.True(LongestRun(generator.SampleTokens(quiet, new GenerationOptions { Seconds = 6, Temperature = 0 })[0]) <= limit);
        Assert.True(LongestRun(generator.SampleTokens(quiet, new GenerationOptions { Seconds = 6, Temperature = 0, LoopGuard = false })[0]) > limit);
        // Seed reuse: the takes' share of the excerpt's own tokens comes nearer the share the excerpt reuses.
        var excerpt = primeTokens.ToHashSet();
        double target = SeedReuse.ReuseShare(primeTokens);
        double Reused(double rate) => generator.SampleTokens(quiet, new GenerationOptions { Seconds = 6, Takes = 4, SeedReuse = rate })
            .SelectMany(t => t).Average(t => excerpt.Contains(t) ? 1.0 : 0.0);
        double unsteered = Reused(0), steered = Reused(1);
        Assert.True(Math.Abs(steered - target) < 0.5 * Math.Abs(unsteered - target), $"share of the seed's tokens {unsteered:F2}, steered {steered:F2}, target {target:F2}");
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { SeedReuse = -1 }));
        // The seed guide scales the beat guide down where a take's clock grows surer than the excerpt's: it moves
        // the takes where there is a guide to scale, and nothing without one.
        var guided = (double guidance, double hold) => generator.SampleTokens(quiet, new GenerationOptions { Seconds = 6, Takes = 4, BeatGuidance = guidance, SeedGuide = hold });
        Assert.NotEqual(guided(32, 0), guided(32, 4));
        Assert.Equal(guided(0, 0), guided(0, 4));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { SeedGuide = -1 }));
        // The guide's cap at onsets moves the takes where there is a guide, and nothing without one.
        var capped = (double guidance, double cap) => generator.SampleTokens(quiet, new GenerationOptions { Seconds = 6, Takes = 4, BeatGuidance = guidance, GuideCap = cap });
        Assert.NotEqual(capped(32, 0), capped(32, 1));
        Assert.Equal(capped(0, 0), capped(0, 1));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { GuideCap = -1 }));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { GuideCap = double.NaN }));
        // The guide window moves the takes where there is a guide, and nothing without one.
        var windowed = (double guidance, double window) => generator.SampleTokens(quiet, new GenerationOptions { Seconds = 6, Takes = 4, BeatGuidance = guidance, GuideWindow = window });
        Assert.NotEqual(windowed(32, 0), windowed(32, 1));
        Assert.Equal(windowed(0, 0), windowed(0, 1));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { GuideWindow = -1 }));
        Assert.Throws<ArgumentException>(() => generator.SampleTokens(seed, new GenerationOptions { GuideWindow = double.PositiveInfinity }));
    }

    [Fact]
    public void The_guide_is_capped_where_the_clock_expects_an_onset_and_whole_between_beats()
    {
        // Two takes of three tokens after an earlier step's logits (left as they are): take 0's clock expects an
        // onset (expected onset 0.5 > 0), take 1's a hold (-0.5).
        float[] guide = [0.5f, -0.5f, 0.01f, 0.5f, -0.5f, 0.01f];
        float[] clock = [0.5f, 1, -0.5f, 1];
        float[] prior = [1, 0, 0];
        float[] Guided(double cap)
        {
            var logits = new float[9];
            Array.Fill(logits, 7f, 0, 3);
            MusicGenerator.Guide(logits, guide, clock, new GenerationOptions { BeatGuidance = 32, GuideCap = cap }, prior, 2, null);
            return logits;
        }
        var capped = Guided(6);
        Assert.Equal([7f, 7f, 7f], capped[..3]);                                   // the earlier step's logits untouched
        Assert.Equal(1 + 6 * Math.Tanh(16 / 6.0), capped[3], 5);                    // a push of 16 at an onset: under 6
        Assert.Equal(-6 * Math.Tanh(16 / 6.0), capped[4], 5);
        Assert.Equal(6 * Math.Tanh(0.32 / 6), capped[5], 5);                        // a small push hardly changed (0.32)
        Assert.Equal([1 + 16f, -16f, 0.32f], capped[6..]);                           // between beats: whole
        Assert.Equal([1 + 16f, -16f, 0.32f, 1 + 16f, -16f, 0.32f], Guided(0)[3..]);  // no cap: whole everywhere
    }

    [Fact]
    public void The_guide_moves_only_the_tokens_within_its_window_of_the_likeliest()
    {
        // One take of four tokens at an expected onset (cap 6) and one between beats: with a window of 3 the tokens
        // more than 3 below the take's likeliest (after the seed prior) keep the network's logit, the rest are pushed.
        float[] guide = [0.5f, 0.5f, -0.5f, 0.5f, 0.5f, 0.5f, -0.5f, 0.5f];
        float[] clock = [0.5f, 1, -0.5f, 1];
        float[] prior = [1, 0, 0, 0];
        float[] Guided(double window)
        {
            float[] logits = [-1, -2, -2.5f, -6, -1, -2, -2.5f, -6];
            MusicGenerator.Guide(logits, guide, clock, new GenerationOptions { BeatGuidance = 32, GuideCap = 6, GuideWindow = window }, prior, 2, null);
            return logits;
        }
        float onset = 6 * MathF.Tanh(16 / 6f);
        var windowed = Guided(3);
        // Take 0 (onset): likeliest 0 after the prior; -2 and -2.5 are within 3 and pushed, -6 is not.
        Assert.Equal([0 + onset, -2 + onset, -2.5f - onset, -6], windowed[..4], new FloatComparer(1e-5f));
        // Take 1 (between beats, whole push): likeliest 0 again; -6 stays.
        Assert.Equal([0 + 16, -2 + 16, -2.5f - 16, -6], windowed[4..], new FloatComparer(1e-5f));
        // Window 0: every token moved.
        Assert.Equal([0 + onset, -2 + onset, -2.5f - onset, -6 + onset, 16, -2 + 16, -2.5f - 16, -6 + 16], Guided(0), new FloatComparer(1e-5f));
    }

    [Fact]
    public void The_seed_guide_holds_a_take_whose_clock_grows_surer_than_the_seeds()
    {
        Assert.Null(SeedGuide.For([0.5f, 0.5f], 2, 0));   // strength 0: none
        Assert.Null(SeedGuide.For([], 2, 1));             // no excerpt
        var held = SeedGuide.For([0.2f, 0.6f], 2, 0.5)!;
        Assert.Equal(0.4, held.SeedScale, 6);
        Assert.Equal(0.4, held.TakeScale(1), 6);           // a take starts at the excerpt's strength
        Assert.Equal(1, held.Factor(0));
        // Clock features [B, 2] (expected onset, periodicity): take 0 sure of an onset (scale 2), take 1 of a hold at
        // half the periodicity (scale 0.1); a negative periodicity is no beat (scale 0).
        Assert.Equal(0.1f, FrameLstm.GuideScale([2, 1, -0.2f, 0.5f], 1), 6);
        Assert.Equal(0f, FrameLstm.GuideScale([3, -0.5f], 0));
        float[] clock = [2, 1, -0.2f, 0.5f];
        held.Observe(clock);
        Assert.Equal(SeedGuide.Decay * 0.4 + (1 - SeedGuide.Decay) * 2, held.TakeScale(0), 6);
        Assert.Equal(Math.Pow(held.SeedScale / held.TakeScale(0), 0.5), held.Factor(0), 9);
        Assert.Equal(1, held.Factor(1));                   // below the excerpt's: the guide as it is
        for (int i = 0; i < 2000; i++) held.Observe(clock);
        Assert.Equal(Math.Sqrt(held.SeedScale / 2), held.Factor(0), 4);
        Assert.Equal(0.1, held.TakeScale(1), 4);
        var beatless = SeedGuide.For([0f, 0f], 1, 0.25)!;  // an excerpt whose clock heard no beat
        beatless.Observe([1, 1]);
        Assert.Equal(0, beatless.Factor(0));               // no beat imposed on its take
    }

    [Fact]
    public void Seed_reuse_moves_one_offset_for_the_tokens_the_seed_does_not_play()
    {
        // Of the second half (3, 1, 4, 1), 3 and both 1s came earlier; 4 is new: a share of 0.75.
        int[] prime = [1, 2, 2, 3, 3, 1, 4, 1];
        Assert.Equal(0.75, SeedReuse.ReuseShare(prime));
        var longer = Enumerable.Repeat(prime, 4).SelectMany(t => t).ToArray();   // 32 tokens: every token of the second half came before
        Assert.Equal(1.0, SeedReuse.ReuseShare(longer));
        Assert.Null(SeedReuse.For(prime, 6, 1, 1));      // too short to have a share
        Assert.Null(SeedReuse.For(longer, 6, 1, 0));     // rate 0: none
        var reuse = SeedReuse.For(longer.Select(t => t == 4 ? 2 : t).Append(5).Append(5).ToArray(), 6, 2, 0.5)!;
        Assert.True(reuse.Target < 1);
        reuse.Drawn(0, 0);                                // a token the excerpt does not play: the others are held back
        Assert.Equal(-0.5 * reuse.Target, reuse.Offset(0), 12);
        Assert.Equal(0, reuse.Offset(1));
        var logits = new float[6];
        reuse.Steer(logits, 0);
        Assert.Equal([(float)(-0.5 * reuse.Target), 0, 0, 0, (float)(-0.5 * reuse.Target), 0], logits);
        for (int i = 0; i < 100; i++) reuse.Drawn(0, 0);
        Assert.Equal(-SeedReuse.Bound, reuse.Offset(0));
    }

    [Fact]
    public void The_loop_guard_allows_the_longest_hold_of_the_training_or_of_the_seed()
    {
        Assert.Equal(5, MusicGenerator.LoopGuardLimit(5, [1, 1, 2, 2, 2, 3]));
        Assert.Equal(7, MusicGenerator.LoopGuardLimit(5, [1, 4, 4, 4, 4, 4, 4, 4, 2]));
        Assert.Equal(6, MusicGenerator.LoopGuardLimit(2, [3, 3, 3, 3, 3, 3]));
        Assert.Equal(1, MusicGenerator.LoopGuardLimit(0, []));
    }

    [Fact]
    public void The_envelope_seed_draws_the_envelope_fit_again_and_nothing_else()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        string songs = TestAudio.MelodyFolder(temp, count: 2, seconds: 3);
        var files = ml.Data.LoadAudioFiles([songs]);
        var first = new MusicGenerator(ml.Transforms.TokenModel(TinyTokens()).Fit(files));
        var again = new MusicGenerator(ml.Transforms.TokenModel(TinyTokens() with { EnvelopeSeed = 7 }).Fit(files));
        var all = Enumerable.Range(0, first.Tokenizer!.Codebook.TokenCount).ToArray();
        Assert.Equal(first.Tokenizer.Codebook.Decode(all), again.Tokenizer!.Codebook.Decode(all));
        string seed = Path.Combine(songs, "song0.wav");
        var options = new GenerationOptions { Seconds = 1, RandomSeed = 3 };
        var tokens = first.SampleTokens(seed, options)[0];
        Assert.Equal(tokens, again.SampleTokens(seed, options)[0]); // the same network
        var stages = first.Stages;
        var frames = stages.Vectorizer.Vectorize(stages.Loader.Load(seed).Channels);
        var primeTokens = first.Tokenizer.Codebook.Encode(frames);
        Assert.NotEqual(first.Tokenizer.Envelope!.Continue(frames, primeTokens, tokens), again.Tokenizer.Envelope!.Continue(frames, primeTokens, tokens));
    }

    [Fact]
    public void A_fit_reports_held_out_files_epochs_and_warnings_to_MLContext_Log()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        var messages = new List<(string Source, string Kind, string Message)>();
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith("MusicGen", StringComparison.Ordinal)) lock (messages) messages.Add((e.Source, e.Kind.ToString(), e.RawMessage));
        };
        string songs = TestAudio.MelodyFolder(temp, count: 3, seconds: 3);
        File.WriteAllText(Path.Combine(songs, "notes.wav"), "not audio");
        var files = ml.Data.LoadAudioFiles([songs]);
        using var fitted = ml.Transforms.TokenModel(TinyTokens() with { SkipUnreadable = true, ValidationFraction = 0.34 }).Fit(files);
        Assert.Contains(messages, m => m.Kind == "Warning" && m.Message.Contains("notes.wav", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Kind == "Info" && m.Message.StartsWith("validating on 1 held-out file(s): song", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Kind == "Info" && m.Message.StartsWith("epoch 1/2: ", StringComparison.Ordinal) && m.Message.Contains("validation", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Message.StartsWith("epoch 2/2: ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_backoff_interpolates_the_network_with_repeat_or_unigram()
    {
        TorchSharp.torch.manual_seed(1);
        using var network = new FrameLstm(1, [4], [0f], tokenCount: 3, embeddingSize: 2);
        network.eval();
        network.SetBackoff([3, 1, 0], repeatRate: 0.5, weight: 0.999);   // unigram (add-one): 4/7, 2/7, 1/7
        using var input = TorchSharp.torch.tensor(new float[] { 2 }, [1, 1, 1]);
        var (output, state) = network.call(input, null);
        state.Dispose();
        var p = Tensors.ToArray(output).Select(v => Math.Exp(v)).ToArray();
        double[] expected = [0.5 * 4 / 7, 0.5 * 2 / 7, 0.5 + 0.5 / 7];   // previous token 2
        for (int k = 0; k < 3; k++) Assert.Equal(expected[k], p[k], 2);
        Assert.Equal(1, p.Sum(), 5);
        output.Dispose();
    }

    [Fact]
    public void Copy_rate_finds_a_file_in_itself_and_not_in_noise()
    {
        var training = TestAudio.Melody(22050, 6, 1, variant: 0);
        var trainingWindows = QualityMetrics.Windows(QualityMetrics.LogMel(training), QualityMetrics.TrainingWindowHop);
        var heldOut = QualityMetrics.Windows(QualityMetrics.LogMel(TestAudio.Melody(22050, 6, 1, variant: 1)));
        double threshold = QualityMetrics.CopyThreshold(heldOut, trainingWindows);
        Assert.True(threshold > 0);
        Assert.Equal(1.0, QualityMetrics.CopyRate(QualityMetrics.Windows(QualityMetrics.LogMel(training)), trainingWindows, threshold));
        var noise = new AudioClip(22050, [Enumerable.Range(0, 22050 * 6).Select(i => (float)(new Random(i).NextDouble() - 0.5)).ToArray()]);
        Assert.Equal(0.0, QualityMetrics.CopyRate(QualityMetrics.Windows(QualityMetrics.LogMel(noise)), trainingWindows, threshold));
    }
}
