using Microsoft.ML;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Spectral;
using MusicGen.Evaluation;

namespace MusicGen.Tests;

public class EvaluatorTests
{
    private static ITransformer Tiny(MLContext ml, string songs, Representation representation) =>
        ml.Transforms.Seed2017Model(PipelineSettings.Seed2017Model() with
        {
            Representation = representation,
            FrameSize = 256,
            Ordering = BatchOrdering.ContiguousStreams,
            BatchSize = 4,
            Layers = 1,
            HiddenSize = 16,
            Epochs = 1,
        }).Fit(ml.Data.LoadAudioFiles([songs]));

    [Fact]
    public void Evaluation_samples_with_every_option_the_caller_gave_except_its_own_length_and_takes()
    {
        // Every settable option gets a value unlike its default; the evaluation must pass each on (a sampling option
        // it dropped once, beat guidance, made evaluate measure the default whatever the command line said).
        var given = new GenerationOptions();
        var defaults = new GenerationOptions();
        foreach (var p in typeof(GenerationOptions).GetProperties().Where(p => p.CanWrite))
        {
            object? value = p.PropertyType == typeof(double) ? (double)p.GetValue(defaults)! + 1.5
                : p.PropertyType == typeof(int) ? (int)p.GetValue(defaults)! + 2
                : p.PropertyType == typeof(bool) ? !(bool)p.GetValue(defaults)!
                : null;
            if (value is not null) p.SetValue(given, value);
        }
        var used = Evaluator.EvaluationOptions(given, seconds: 7, takes: 2);
        string[] own = [nameof(GenerationOptions.Seconds), nameof(GenerationOptions.Takes), nameof(GenerationOptions.Progress)];
        foreach (var p in typeof(GenerationOptions).GetProperties().Where(p => p.CanWrite && !own.Contains(p.Name)))
            Assert.True(Equals(p.GetValue(given), p.GetValue(used)), $"{p.Name}: given {p.GetValue(given)}, evaluated with {p.GetValue(used)}");
        Assert.Equal((7.0, 2), (used.Seconds, used.Takes));
        Assert.Null(used.Progress);
    }

    [Fact]
    public void Reconstruct_is_exact_for_Seed2017_and_close_for_log_magnitude()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        string songs = TestAudio.MelodyFolder(temp);
        string song = Path.Combine(songs, "song0.wav");
        var original = WavReader.Read(song).Channels[0];

        var seed2017 = new MusicGenerator(Tiny(ml, songs, Representation.Seed2017));
        var exact = seed2017.Reconstruct(song).Channels[0];
        for (int i = 0; i < exact.Length; i++) Assert.InRange(Math.Abs(original[i] - exact[i]), 0, 1e-5);
        // Louder than full scale, the same audio comes back limited (as takes are), not clipped and not unchanged.
        var loud = original.Select(x => 3 * x).ToArray();
        Assert.True(loud.Max(Math.Abs) > 1.2f);
        var limited = seed2017.Reconstruct(new AudioClip(8000, [loud])).Channels[0];
        Assert.InRange(limited.Max(Math.Abs), 0.9f * PeakLimiter.Ceiling, PeakLimiter.Ceiling);
        Assert.True(limited.Skip(1).Zip(limited).All(p => Math.Min(Math.Abs(p.First), Math.Abs(p.Second)) < PeakLimiter.Ceiling - 1e-6f),
            "no flat tops: never two neighbouring samples at the ceiling");

        var rebuilt = new MusicGenerator(Tiny(ml, songs, Representation.LogMagnitude)).Reconstruct(song);
        using var magnitudes = new SpectralTransform(new SpectralSettings(Representation.LogMagnitude, 256, 64, WindowKind.Hann, 1f / 128), 8000);
        var a = magnitudes.Direct([original]).Select(v => Math.Exp(v)).ToArray();
        var b = magnitudes.Direct([rebuilt.Channels[0]]).Select(v => Math.Exp(v)).ToArray();
        double num = 0, den = 0;
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            num += (a[i] - b[i]) * (a[i] - b[i]);
            den += a[i] * a[i];
        }
        Assert.True(Math.Sqrt(num / den) < 0.25, $"spectral convergence {Math.Sqrt(num / den)}");
    }

    [Fact]
    public void Evaluate_prints_every_measure_with_its_target()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        string songs = TestAudio.MelodyFolder(temp, count: 3, sampleRate: 22050, seconds: 4);
        string model = temp.File("m.zip");
        var files = ml.Data.LoadAudioFiles([songs]);
        ModelFile.Save(ml, Tiny(ml, songs, Representation.Seed2017), files.Schema, model);
        var output = new StringWriter();
        int code = Host.Program.Run(["evaluate", "--model", model, "--reference", Path.Combine(songs, "song2.wav"),
            "--seeds", Path.Combine(songs, "song0.wav"), Path.Combine(songs, "song1.wav"), "--takes", "1", "--seconds", "2",
            "--prime-seconds", "2", "--json", temp.File("q.json")], output, new StringWriter());
        Assert.Equal(0, code);
        foreach (var name in new[] { "spectral flux ratio", "Frechet distance ratio", "loudness movement ratio", "seed sensitivity", "repeat previous frame", "mean frame", "tonality ratio", "copy rate", "Basic Pitch FAD ratio", "codec transparency", "pulse ratio" })
            Assert.Contains(name, output.ToString());
        Assert.Contains("\"Name\":\"tonality ratio\"", File.ReadAllText(temp.File("q.json")));
        // The seeds' own music (2-4 s of each 4 s seed, after the 2 s primed) is scored beside the takes.
        using var figures = System.Text.Json.JsonDocument.Parse(File.ReadAllText(temp.File("q.json")));
        double Own(string name) => figures.RootElement.EnumerateArray().Single(f => f.GetProperty("Name").GetString() == name).GetProperty("SeedsOwn").GetDouble();
        Assert.Contains("seeds' own music", output.ToString());
        Assert.InRange(Own("spectral flux ratio"), 0.2, 5);
        Assert.True(Own("seed sensitivity") > 0);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, figures.RootElement.EnumerateArray().Single(f => f.GetProperty("Name").GetString() == "codec transparency").GetProperty("SeedsOwn").ValueKind);
        // Two seeds: a column per seed, in the table and in the JSON.
        Assert.Contains("per seed", output.ToString());
        Assert.Contains("song1", output.ToString().Split("per seed")[1]);
        var flux = figures.RootElement.EnumerateArray().Single(f => f.GetProperty("Name").GetString() == "spectral flux ratio").GetProperty("PerSeed");
        Assert.Equal(["song0.wav", "song1.wav"], flux.EnumerateArray().Select(s => s.GetProperty("Seed").GetString()));
    }

    [Fact]
    public void Each_seeds_figures_are_what_evaluate_reports_with_that_seed_alone()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        string songs = TestAudio.MelodyFolder(temp, count: 3, sampleRate: 22050, seconds: 6);
        var model = Tiny(ml, songs, Representation.Seed2017);
        string Song(int k) => Path.Combine(songs, $"song{k}.wav");
        string[] seeds = [Song(0), Song(1)];
        bool basicPitch = BasicPitch.Find(out _) is not null;   // measure 8 per seed too where it is installed
        IReadOnlyList<QualityFigure> Evaluate(string[] given) => Evaluator.Evaluate(model, [Song(2)], given, takes: 2, seconds: 2,
            training: [Song(0), Song(1)], generation: new GenerationOptions { PrimeSeconds = 2 }, basicPitch: basicPitch);

        var both = Evaluate(seeds);
        string[] perSeed = ["spectral flux ratio", "Frechet distance ratio", "loudness movement ratio", "tonality ratio", "copy rate", "Basic Pitch FAD ratio", "pulse ratio"];
        Assert.Equal(perSeed, both.Where(f => f.PerSeed.Count > 0).Select(f => f.Name));
        for (int i = 0; i < seeds.Length; i++)
        {
            var alone = Evaluate([seeds[i]]);
            Assert.All(alone, f => Assert.Empty(f.PerSeed));   // one seed: the figures are its own already
            foreach (var f in both.Where(f => f.PerSeed.Count > 0))
            {
                var expected = alone.Single(a => a.Name == f.Name);
                Assert.Equal(seeds[i], f.PerSeed[i].Seed);
                Assert.True(expected.Value.Equals(f.PerSeed[i].Value), $"{f.Name}, seed {i}: {f.PerSeed[i].Value} per seed, {expected.Value} alone");
                Assert.True(expected.SeedsOwn.Equals(f.PerSeed[i].SeedsOwn), $"{f.Name}, seed {i}'s own: {f.PerSeed[i].SeedsOwn} per seed, {expected.SeedsOwn} alone");
            }
        }
        // The two seeds' takes differ, and the aggregate is not simply either one.
        var frechet = both.Single(f => f.Name == "Frechet distance ratio");
        Assert.NotEqual(frechet.PerSeed[0].Value, frechet.PerSeed[1].Value);
        Assert.All(frechet.PerSeed, s => Assert.True(double.IsFinite(s.Value) && double.IsFinite(s.SeedsOwn)));
        if (basicPitch) Assert.All(both.Single(f => f.Name == "Basic Pitch FAD ratio").PerSeed, s => Assert.True(double.IsFinite(s.Value)));
    }

    [Fact]
    public void A_seeds_own_continuation_starts_where_its_primed_excerpt_ends()
    {
        var seed = new AudioClip(100, [Enumerable.Range(0, 1000).Select(i => (float)i).ToArray()]);
        var own = Evaluator.Continuation(seed, 1, new GenerationOptions { PrimeSeconds = 2 }, 4)!;
        Assert.Equal(400, own.Length);
        Assert.Equal(300f, own.Channels[0][0]);
        Assert.Null(Evaluator.Continuation(seed, 0, new GenerationOptions { PrimeSeconds = 2 }, 9));   // the seed ends first
        Assert.Null(Evaluator.Continuation(seed, 0, new GenerationOptions { PrimeSeconds = 0 }, 1));   // the whole seed primes
    }

    [Fact]
    public void Next_frame_baselines_are_computed_on_the_model_features()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        string songs = TestAudio.MelodyFolder(temp);
        var (vsRepeat, vsMean) = Evaluator.NextFrameErrorRatios(Tiny(ml, songs, Representation.LogMagnitude), [Path.Combine(songs, "song1.wav")]);
        Assert.True(vsRepeat > 0 && double.IsFinite(vsRepeat));
        Assert.True(vsMean > 0 && double.IsFinite(vsMean));
    }
}
