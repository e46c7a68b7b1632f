using Microsoft.ML;
using MusicGen.Transforms;
using MusicGen.Estimators;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Tokens;

namespace MusicGen.Evaluation;

/// <summary>One measure of an evaluation, with its target.</summary>
/// <param name="Name">The measure, as docs/quality.md names it.</param>
/// <param name="Value">Mean over takes (NaN where it could not be computed).</param>
/// <param name="Low">Lowest value that meets the target (NaN: no lower bound).</param>
/// <param name="High">Highest value that meets the target (NaN: no upper bound).</param>
public sealed record QualityFigure(string Name, double Value, double Low, double High)
{
    /// <summary>
    /// What the seeds' own music scores on the same measure: each seed's next stretch as long as a take, from where its
    /// primed excerpt ends, in place of the takes (NaN where the measure does not read takes or no seed is that long).
    /// A target real music misses from these seeds is out of any model's reach with them.
    /// </summary>
    public double SeedsOwn { get; init; } = double.NaN;

    /// <summary>
    /// With two seeds or more, the measure for each seed's takes alone, in the order the seeds were given: what
    /// <see cref="Evaluator.Evaluate"/> reports with that seed as the only one (its own takes, its own real excerpts for
    /// the Basic Pitch ratio). Empty for a measure that does not read takes one seed at a time (seed sensitivity, the
    /// next-step ratios, codec transparency) or with one seed. An aggregate that misses can come from one seed's takes.
    /// </summary>
    public IReadOnlyList<SeedFigure> PerSeed { get; init; } = [];

    /// <summary>Whether the value meets the target.</summary>
    public bool Met => !double.IsNaN(Value) && (double.IsNaN(Low) || Value >= Low) && (double.IsNaN(High) || Value <= High);
}

/// <summary>One seed's share of a <see cref="QualityFigure"/>: its takes' value and its own music's (NaN where not computed).</summary>
/// <param name="Seed">The seed file, as given.</param>
/// <param name="Value">The measure on this seed's takes alone.</param>
/// <param name="SeedsOwn">The measure on this seed's own next stretch alone.</param>
public sealed record SeedFigure(string Seed, double Value, double SeedsOwn);

/// <summary>
/// Generates takes from seeds with a fitted pipeline and scores them against held-out reference audio with
/// <see cref="QualityMetrics"/>; with the training audio, also the copy rate (calibrated on the reference passed
/// through <see cref="MusicGenerator.Reconstruct(string, int, int)"/>, with the takes' phase iterations).
/// </summary>
public static class Evaluator
{
    /// <summary>
    /// Evaluates <paramref name="model"/>; <paramref name="seeds"/> needs two files for seed sensitivity and
    /// <paramref name="training"/> (the files the model trained on) is needed for the copy rate (NaN without it).
    /// Takes are generated in one batch per seed with random seeds 1..takes, at the generator's default temperature
    /// and top-k unless <paramref name="generation"/> says otherwise. The Basic Pitch measures (8 and 9) need Node.js
    /// and tools/basic-pitch (<see cref="BasicPitch.Find"/>); without them, or with <paramref name="basicPitch"/> false,
    /// they are NaN and <paramref name="log"/> says why. Each measure that reads takes also carries what the seeds' own
    /// music scores on it (<see cref="QualityFigure.SeedsOwn"/>) and, with two seeds or more, each seed's figures alone
    /// (<see cref="QualityFigure.PerSeed"/>).
    /// </summary>
    public static IReadOnlyList<QualityFigure> Evaluate(ITransformer model, IReadOnlyList<string> reference, IReadOnlyList<string> seeds,
        int takes = 3, double seconds = 20, Action<string>? log = null, IReadOnlyList<string>? training = null, GenerationOptions? generation = null,
        bool basicPitch = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(takes, 1);
        if (reference.Count == 0) throw new ArgumentException("Give at least one reference file.", nameof(reference));
        if (seeds.Count == 0) throw new ArgumentException("Give at least one seed file.", nameof(seeds));
        var stages = PipelineStages.Of(model);
        var generator = new MusicGenerator(stages);
        // Each reference file is decoded once: its log-mel frames, the next-step ratios and the copy-rate calibration share it.
        var referenceClips = reference.Select(AudioFile.Read).ToList();
        var referenceMel = referenceClips.Select(QualityMetrics.LogMel).ToList();
        var referenceFrames = referenceMel.SelectMany(f => f).ToArray();
        var seedClips = seeds.Select(AudioFile.Read).ToList();
        var seedFrames = seedClips.Select(QualityMetrics.LogMel).ToList();

        // What the reference scores, once: each measure that reads takes divides by it, for every set of takes scored.
        double referenceFlux = referenceMel.Average(QualityMetrics.Flux);
        double referenceTonality = QualityMetrics.GeometricMean(referenceClips.Select(QualityMetrics.Tonality));
        double referencePulse = QualityMetrics.MeanPulse(referenceMel.Select(f => QualityMetrics.PulseStrengths(QualityMetrics.OnsetEnvelope(f))));
        var referenceMovement = new Dictionary<double, double>(); // by the takes' length in seconds
        // Each take (or stretch of a seed's own music) is measured once; a set of them is scored from these.
        Scored Measured(AudioClip clip)
        {
            var frames = QualityMetrics.LogMel(clip);
            return new Scored(clip, frames, QualityMetrics.Flux(frames), QualityMetrics.FrechetRatio(frames, referenceFrames),
                QualityMetrics.LoudnessMovement(clip), QualityMetrics.Tonality(clip), QualityMetrics.PulseStrengths(QualityMetrics.OnsetEnvelope(frames)));
        }

        var options = EvaluationOptions(generation ?? new GenerationOptions(), seconds, takes);
        var perSeed = new List<List<Scored>>();
        var primeStarts = new List<double>(); // where each seed's takes were primed, as generation read it
        options.PrimeStarted = primeStarts.Add;
        foreach (var seed in seeds)
        {
            log?.Invoke($"generating {takes} take(s) of {seconds} s from {Path.GetFileName(seed)}");
            perSeed.Add(generator.GenerateTakes(seed, options).Select(Measured).ToList());
        }
        // The seeds' own music after their primed excerpts, scored as if it were takes: what real music scores here.
        var ownPerSeed = seedClips.Select((c, k) => Continuation(c, primeStarts[k], options, seconds) is { } own ? new List<Scored> { Measured(own) } : []).ToList();
        if (ownPerSeed.All(s => s.Count == 0))
            log?.Invoke($"the seeds' own music not scored: no seed goes on for {seconds} s after its primed excerpt");
        var takesScores = Score(perSeed);
        var ownScores = Score(ownPerSeed);
        Scores Score(List<List<Scored>> clips)
        {
            var all = clips.SelectMany(s => s).ToList();
            if (all.Count == 0) return Scores.None;
            int pairs = clips.Count < 2 ? 0 : Math.Min(clips[0].Count, clips[1].Count);
            double length = all.Average(t => t.Clip.Seconds);
            if (!referenceMovement.TryGetValue(length, out double movement))
                referenceMovement[length] = movement = QualityMetrics.ExcerptLoudnessMovement(referenceClips, length);
            return new Scores(
                all.Average(t => t.Flux) / referenceFlux,
                all.Average(t => t.Frechet),
                all.Average(t => t.Loudness) / movement,
                pairs == 0 ? double.NaN : Enumerable.Range(0, pairs).Average(k => QualityMetrics.SeedSensitivity(clips[0][k].Frames, clips[1][k].Frames, seedFrames[0], seedFrames[1])),
                QualityMetrics.GeometricMean(all.Select(t => t.Tonality)) / referenceTonality,
                QualityMetrics.MeanPulse(all.Select(t => t.Pulse)) / referencePulse);
        }
        var (vsRepeat, vsMean) = NextStepErrorRatios(stages, referenceClips.Select(stages.Loader.Conform).ToList());
        List<AudioClip>? reconstructed = null;
        List<AudioClip> Reconstructed() => reconstructed ??= referenceClips.Select(r => generator.Reconstruct(r, phaseIterations: options.PhaseIterations)).ToList();
        double copyRate = double.NaN, ownCopyRate = double.NaN;
        var seedCopies = seeds.Select(_ => (double.NaN, double.NaN)).ToArray();
        var seedFads = seeds.Select(_ => (double.NaN, double.NaN)).ToArray();
        if (training is { Count: > 0 })
        {
            log?.Invoke($"searching {training.Count} training file(s) for copied windows");
            var trainingWindows = training.SelectMany(f => QualityMetrics.Windows(QualityMetrics.LogMel(AudioFile.Read(f)), QualityMetrics.TrainingWindowHop)).ToList();
            var heldOut = Reconstructed().SelectMany(r => QualityMetrics.Windows(QualityMetrics.LogMel(r))).ToList();
            double threshold = QualityMetrics.CopyThreshold(heldOut, trainingWindows);
            // Each seed's windows searched once; the rates over all seeds and over each read the same distances.
            double[] Distances(List<Scored> clips) => QualityMetrics.NearestDistances(clips.SelectMany(t => QualityMetrics.Windows(t.Frames)).ToList(), trainingWindows);
            var takeDistances = perSeed.Select(Distances).ToList();
            var ownDistances = ownPerSeed.Select(Distances).ToList();
            double Rate(IEnumerable<double[]> distances) => QualityMetrics.CopyRate(distances.SelectMany(d => d).ToList(), threshold);
            copyRate = Rate(takeDistances);
            ownCopyRate = Rate(ownDistances);
            if (seeds.Count >= 2)
                for (int i = 0; i < seeds.Count; i++) seedCopies[i] = (Rate([takeDistances[i]]), Rate([ownDistances[i]]));
        }
        double fad = double.NaN, ownFad = double.NaN, transparency = double.NaN;
        string missing = "not asked for";
        var embedder = basicPitch ? BasicPitch.Find(out missing) : null;
        if (embedder is null) log?.Invoke($"Basic Pitch FAD ratio and codec transparency not computed: {missing}");
        else
        {
            var takeClips = perSeed.SelectMany(s => s).Select(t => t.Clip).ToList();
            var ownClips = ownPerSeed.SelectMany(s => s).Select(t => t.Clip).ToList();
            var realPerSeed = seedClips.Select(c => QualityMetrics.Excerpts([c], seconds, takes)).ToList();
            var real = realPerSeed.SelectMany(r => r).ToList();
            log?.Invoke($"embedding {takeClips.Count} take(s), {real.Count} real excerpt(s), {ownClips.Count} seed continuation(s) and {referenceClips.Count} reference file(s), as heard and through the model, with Basic Pitch");
            var sets = embedder.Embed([.. takeClips, .. real, .. referenceClips, .. Reconstructed(), .. ownClips]);
            int at = 0;
            List<float[]> Next(int count)
            {
                var frames = sets.Skip(at).Take(count).SelectMany(f => f).ToList();
                at += count;
                return frames;
            }
            List<List<float[]>> NextPerSeed(IEnumerable<int> counts) => counts.Select(Next).ToList();
            var takesSets = NextPerSeed(perSeed.Select(s => s.Count));
            var realSets = NextPerSeed(realPerSeed.Select(r => r.Count));
            var referenceSet = Next(referenceClips.Count);
            var throughModel = Next(referenceClips.Count);
            var ownSets = NextPerSeed(ownPerSeed.Select(s => s.Count));
            var realSet = realSets.SelectMany(r => r).ToList();
            (fad, ownFad) = FadRatios(takesSets.SelectMany(t => t).ToList(), ownSets.SelectMany(o => o).ToList(), realSet, referenceSet);
            if (realSet.Count >= 2) transparency = QualityMetrics.FrechetOverReal(throughModel, realSet, referenceSet);
            else log?.Invoke($"Basic Pitch measures not computed: the seeds are shorter than one {seconds} s piece");
            if (seeds.Count >= 2)
                for (int i = 0; i < seeds.Count; i++) seedFads[i] = FadRatios(takesSets[i], ownSets[i], realSets[i], referenceSet);
        }
        var (repeatName, averageName) = ValidationReport.Names(stages.Network.PredictsTokens ? LossKind.CrossEntropy : LossKind.MeanSquaredError);
        string error = stages.Network.PredictsTokens ? "next-token cross-entropy" : "next-frame error";
        // Each seed's takes and own music scored alone, as the measures above score them all together.
        var seedScores = seeds.Count < 2 ? [] : Enumerable.Range(0, seeds.Count).Select(i => (Takes: Score([perSeed[i]]), Own: Score([ownPerSeed[i]]))).ToList();
        IReadOnlyList<SeedFigure> PerSeed(Func<Scores, double> measure) =>
            seedScores.Select((s, i) => new SeedFigure(seeds[i], measure(s.Takes), measure(s.Own))).ToList();
        IReadOnlyList<SeedFigure> PerSeedPairs((double Takes, double Own)[] values) =>
            seeds.Count < 2 ? [] : values.Select((v, i) => new SeedFigure(seeds[i], v.Takes, v.Own)).ToList();
        return
        [
            new("spectral flux ratio", takesScores.Flux, 0.5, 2) { SeedsOwn = ownScores.Flux, PerSeed = PerSeed(s => s.Flux) },
            new("Frechet distance ratio", takesScores.Frechet, double.NaN, 3) { SeedsOwn = ownScores.Frechet, PerSeed = PerSeed(s => s.Frechet) },
            new("loudness movement ratio", takesScores.Loudness, 0.5, 2) { SeedsOwn = ownScores.Loudness, PerSeed = PerSeed(s => s.Loudness) },
            new("seed sensitivity", takesScores.Sensitivity, 0.3, double.NaN) { SeedsOwn = ownScores.Sensitivity },
            new($"{error} / {repeatName}", vsRepeat, double.NaN, 1),
            new($"{error} / {averageName}", vsMean, double.NaN, 1),
            new("tonality ratio", takesScores.Tonality, 0.05, 20) { SeedsOwn = ownScores.Tonality, PerSeed = PerSeed(s => s.Tonality) },
            new("copy rate", copyRate, double.NaN, 0.15) { SeedsOwn = ownCopyRate, PerSeed = PerSeedPairs(seedCopies) },
            new("Basic Pitch FAD ratio", fad, double.NaN, 2) { SeedsOwn = ownFad, PerSeed = PerSeedPairs(seedFads) },
            new("codec transparency", transparency, double.NaN, 0.5),
            new("pulse ratio", takesScores.Pulse, 0.6, 1.5) { SeedsOwn = ownScores.Pulse, PerSeed = PerSeed(s => s.Pulse) },
        ];
    }

    /// <summary>
    /// Measure 8 for a set of take embeddings and for the seeds' own music, over real excerpts' distance to the
    /// reference (NaN where the real excerpts or the seeds' own music give fewer than two frames).
    /// </summary>
    private static (double Takes, double Own) FadRatios(List<float[]> takes, List<float[]> own, List<float[]> real, List<float[]> reference) =>
        real.Count < 2 ? (double.NaN, double.NaN)
            : (QualityMetrics.FrechetOverReal(takes, real, reference), own.Count >= 2 ? QualityMetrics.FrechetOverReal(own, real, reference) : double.NaN);

    /// <summary>A take (or stretch of a seed's own music) with its own share of each measure that reads takes.</summary>
    private sealed record Scored(AudioClip Clip, float[][] Frames, double Flux, double Frechet, double Loudness, double Tonality, IReadOnlyList<double> Pulse);

    /// <summary>The measures that read takes (NaN: not computed).</summary>
    private sealed record Scores(double Flux, double Frechet, double Loudness, double Sensitivity, double Tonality, double Pulse)
    {
        public static Scores None { get; } = new(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
    }

    /// <summary>
    /// The seed's own music where a take of it starts: <paramref name="seconds"/> from the end of the primed excerpt
    /// (<paramref name="primeStart"/>, <see cref="MusicGenerator.PrimeStart"/>, + <see cref="GenerationOptions.PrimeSeconds"/>);
    /// null when the whole seed primes or it ends before.
    /// </summary>
    internal static AudioClip? Continuation(AudioClip seed, double primeStart, GenerationOptions options, double seconds)
    {
        if (options.PrimeSeconds == 0) return null;
        long from = (long)Math.Round((primeStart + options.PrimeSeconds) * seed.SampleRate);
        long length = (long)Math.Round(seconds * seed.SampleRate);
        if (length < 1 || from + length > seed.Length) return null;
        return new AudioClip(seed.SampleRate, seed.Channels.Select(c => c.AsSpan((int)from, (int)length).ToArray()).ToArray());
    }

    /// <summary>
    /// Teacher-forced next-frame mean squared error on held-out audio, in the model's own feature space (after its
    /// normaliser), divided by that of repeating the previous frame and of predicting the mean frame (the normaliser's
    /// mean when there is one, else the reference frames' own mean). For a token model: cross-entropy of the next token,
    /// divided by that of "repeat the previous token" (probability r for the same token, else the unigram
    /// frequencies, r being the training repeat rate) and by that of the unigram frequencies (add-one smoothed).
    /// </summary>
    public static (double VsRepeat, double VsMean) NextFrameErrorRatios(ITransformer model, IReadOnlyList<string> reference)
    {
        var stages = PipelineStages.Of(model);
        return NextStepErrorRatios(stages, reference.Select(r => stages.Loader.Load(r)).ToList());
    }

    /// <summary><see cref="NextFrameErrorRatios"/> on clips already at the model's rate and channels.</summary>
    private static (double VsRepeat, double VsMean) NextStepErrorRatios(PipelineStages stages, IReadOnlyList<AudioClip> reference)
    {
        var (_, vectorizer, normalizer, tokenizer, network) = stages;
        if (network.PredictsTokens)
            return NextTokenErrorRatios(tokenizer!.Codebook, network, reference.Select(r => vectorizer.Vectorize(r.Channels)));
        int dim = vectorizer.FeatureSize;
        var sequences = reference.Select(r =>
        {
            var frames = vectorizer.Vectorize(r.Channels);
            normalizer?.Normalize(frames);
            return frames;
        }).Where(f => f.Length >= 2 * dim).ToList();
        if (sequences.Count == 0) return (double.NaN, double.NaN);
        var mean = new double[dim]; // in a normaliser's space the training mean frame is all zeros
        if (normalizer is null)
        {
            foreach (var s in sequences)
                for (int i = 0; i < s.Length; i++) mean[i % dim] += s[i];
            long count = sequences.Sum(s => (long)s.Length / dim);
            for (int d = 0; d < dim; d++) mean[d] /= count;
        }
        double modelError = 0, repeat = 0, meanError = 0;
        foreach (var frames in sequences)
        {
            var (predictions, state) = network.Run(frames, 1, null);
            state.Dispose();
            int steps = frames.Length / dim;
            for (int t = 0; t + 1 < steps; t++)
            {
                for (int d = 0; d < dim; d++)
                {
                    double next = frames[(t + 1) * dim + d];
                    modelError += Math.Pow(predictions[t * dim + d] - next, 2);
                    repeat += Math.Pow(frames[t * dim + d] - next, 2);
                    meanError += Math.Pow(mean[d] - next, 2);
                }
            }
        }
        return (modelError / repeat, modelError / meanError);
    }

    private static (double VsRepeat, double VsUnigram) NextTokenErrorRatios(Codebook codebook, LstmForecastingTransformer network,
        IEnumerable<float[]> files)
    {
        int tokenCount = codebook.TokenCount;
        var scores = new TokenScores(new RepeatOrUnigram(codebook.Frequencies, codebook.RepeatRate));
        foreach (var frames in files)
        {
            var tokens = codebook.Encode(frames);
            if (tokens.Length < 2) continue;
            var (logits, state) = network.Run(tokens.Select(t => (float)t).ToArray(), 1, null);
            state.Dispose();
            for (int t = 0; t + 1 < tokens.Length; t++) scores.AddLogits(logits.AsSpan(t * tokenCount, tokenCount), tokens[t], tokens[t + 1]);
        }
        return scores.RepeatPrevious == 0 ? (double.NaN, double.NaN) : (scores.Model / scores.RepeatPrevious, scores.Model / scores.Unigram);
    }

    /// <summary>
    /// The caller's sampling and priming options (take k of every seed uses random seed RandomSeed + k - 1) with the
    /// evaluation's own length and takes, and no progress callback.
    /// </summary>
    internal static GenerationOptions EvaluationOptions(GenerationOptions given, double seconds, int takes)
    {
        // A copy of every option, so that one added later is passed on without a line here (one listed by hand, the
        // seed backoff, was once dropped and evaluate measured the default).
        var options = given.Copy();
        options.Seconds = seconds;
        options.Takes = takes;
        options.Progress = null;
        options.PrimeStarted = null;
        return options;
    }
}
