// Codec transparency (docs/quality.md, measure 9) of other codecs than a model's own, on the same reference tracks and
// real excerpts as `musicgen evaluate`: docs/evaluation.md's codec search. Each variant encodes the reference's
// log-magnitude frames, decodes them, rebuilds phase with the model's Griffin-Lim and embeds the audio with Basic Pitch.
// Usage: codec-search MODEL.zip --train FILES... --reference FILES... --seeds FILES... [--variants medoid,raw,...] [--takes B]
// With --bin-errors: the model's codec's log-magnitude error per frequency range, and no variants.
// Variants: model (the model's own codec, as `reconstruct`), hirawHZ and lorawHZ (the model's codec with the bins
// above or below HZ as analysed), medoid (the model's codebook), raw (no tokens), gain
// (medoid with the frame's mean level), kN (a codebook of N tokens fitted on --train), splitHZ (two codebooks of 512,
// below and above HZ), bandsHZ_HZ_...[xK] (one codebook of K, default 512, per band between the cuts), shiftN (the model's exemplars transposed by up to N semitones, the
// nearest kept), peaksN (the exemplars with each frame's N most prominent peaks copied over them), qpeaksN (the same
// peaks quantised: a quarter tone, 3 dB), speaksN (quantised peaks over the exemplar's smoothed envelope), nearest and
// nearestmel (the model's exemplars, each frame encoded as the exemplar nearest it in log magnitudes or mel bands),
// tsmooth and tsmoothlin (the exemplars smoothed across three frames, in log magnitudes or in magnitudes), triN (across
// 2N + 1 frames, triangular weights, log magnitudes), releaseD (each bin's fall limited to D dB a frame), envN (the
// exemplars under each frame's own envelope on N mel bands; fenvN: bands at least a bin apart), rvqS_B[xK] (S residual codebooks of K over a B-band
// envelope), renderW_B (a network that reads W tokens either side renders a B-band envelope), allnearest (each frame
// as the training frame nearest it: a vocabulary of every training frame), membersM_N (M training frames a token, the
// one whose N-band envelope is nearest the frame's played under that envelope, three passes), unitsN (the tokens
// played by unit selection over at most N training frames each). Any variant@N: rendered with N Griffin-Lim iterations.
// With --takes B: measure 8 for the model's own takes (3 per seed) played as exemplars and under a B-band envelope
// continued by a second LSTM (the envelope channel's prototype; ESTEPS, ENOISE, EHIDDEN and EZERO=1, no residual
// input, set its fit).
using Microsoft.ML;
using MusicGen;
using MusicGen.Estimators.Tokens;
using MusicGen.Evaluation;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Tokens;

List<string> Group(string name) => args.SkipWhile(a => a != name).Skip(1).TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
{
    Console.Error.WriteLine("usage: codec-search MODEL.zip --train FILES... --reference FILES... --seeds FILES... [--variants medoid,raw,...]");
    return 2;
}
var stages = PipelineStages.Of(ModelFile.Load(new MLContext(), args[0]));
var codebook = stages.Tokenizer?.Codebook ?? throw new ArgumentException($"{args[0]} is not a token model.");
var vectorizer = stages.Vectorizer;
int bins = vectorizer.FeatureSize, sampleRate = stages.Loader.SampleRate;
var training = Group("--train");
var variants = Group("--variants").FirstOrDefault()?.Split(',') ?? ["medoid", "raw"];
float[] Frames(AudioClip clip) => vectorizer.Vectorize(stages.Loader.Conform(clip).Channels);
var referenceClips = Group("--reference").Select(f => AudioFile.Read(f)).ToList();
var referenceFrames = referenceClips.Select(Frames).ToList();
var trainingFrames = new Lazy<List<float[]>>(() => training.Select(f => Frames(AudioFile.Read(f))).ToList());
float floor = referenceFrames.Min(f => f.Min());                                   // what a transposition leaves empty
var trainingFloor = new Lazy<float>(() => trainingFrames.Value.Min(f => f.Min())); // what a band's codebook sees outside it
var fittedCodebooks = new Dictionary<string, Codebook>();
var residualBooks = new Dictionary<string, List<float[]>>();
(float[] Described, int[][] Tokens, float[][] Flat) trainingUnits = default;

if (args.Contains("--bin-errors"))
{
    // Where the model's codec departs from the analysed frames: mean |log-magnitude error| per frequency range, over
    // the bins within 4 units (35 dB) of their frame's loudest.
    double[] edges = [0, 250, 500, 1000, 2000, 4000, 8000, 11026];
    var errors = new double[edges.Length - 1];
    var counts = new double[edges.Length - 1];
    foreach (var frames in referenceFrames)
    {
        var model = stages.Tokenizer!.Reconstruct(frames);
        for (int t = 0; t < frames.Length / bins; t++)
        {
            var f = frames.AsSpan(t * bins, bins);
            var m = model.AsSpan(t * bins, bins);
            float max = System.Numerics.Tensors.TensorPrimitives.Max(f);
            for (int i = 0; i < bins; i++)
            {
                if (f[i] < max - 4) continue;
                double hz = i * (double)sampleRate / ((bins - 1) * 2);
                int r = Array.FindIndex(edges, e => e > hz) - 1;
                errors[r] += Math.Abs(m[i] - f[i]);
                counts[r]++;
            }
        }
    }
    for (int r = 0; r < errors.Length; r++) Console.WriteLine($"{edges[r]}-{edges[r + 1]} Hz: mean |error| {errors[r] / counts[r]:F3} over {counts[r]} bins");
    return 0;
}
var embedder = BasicPitch.Find(out var missing) ?? throw new InvalidOperationException(missing);
var real = QualityMetrics.Excerpts(Group("--seeds").Select(f => AudioFile.Read(f)).ToList(), 20, 3);
var fixedSets = embedder.Embed([.. real, .. referenceClips]);
var realSet = fixedSets.Take(real.Count).SelectMany(f => f).ToList();
var referenceSet = fixedSets.Skip(real.Count).SelectMany(f => f).ToList();

if (Group("--takes").Count > 0)
{
    // Measure 8 for takes rendered two ways: the exemplars as they are (medoid), or under envelopes that a second LSTM
    // continues from the seed's own over the sampled tokens (etakes). Same tokens for both.
    var generator = new MusicGenerator(stages);
    var seeds = Group("--seeds");
    int bandsE = int.Parse(Group("--takes")[0]);
    var melE = new MelEnvelope(bandsE, (bins - 1) * 2, sampleRate);
    var envelope = TrainEnvelopeLstm(bandsE, melE);
    var plain = new List<AudioClip>();
    var shaped = new List<AudioClip>();
    foreach (var seed in seeds)
    {
        var takes = generator.SampleTokens(seed, new GenerationOptions { Takes = 3 });
        var seedFrames = Frames(AudioFile.Read(seed));
        int prime = Math.Min(seedFrames.Length / bins, (int)(10 * generator.FramesPerSecond));
        var primeFrames = seedFrames.AsSpan(0, prime * bins).ToArray();
        for (int k = 0; k < takes.Count; k++)
        {
            var decoded = codebook.Decode(takes[k]);
            plain.Add(new AudioClip(sampleRate, [vectorizer.Invert(decoded, 1 + k)[0].AsSpan(0, 20 * sampleRate).ToArray()]));
            var gains = envelope(primeFrames, takes[k]);
            ApplyGains(decoded, gains, melE);
            shaped.Add(new AudioClip(sampleRate, [vectorizer.Invert(decoded, 1 + k)[0].AsSpan(0, 20 * sampleRate).ToArray()]));
            if (k == 0) WavWriter.Write($"/tmp/etake-{Path.GetFileNameWithoutExtension(seed)}.wav", shaped[^1]);
        }
    }
    var sets = embedder.Embed([.. plain, .. shaped]);
    Console.WriteLine($"takes (exemplars): FAD ratio {QualityMetrics.FrechetOverReal(sets.Take(plain.Count).SelectMany(f => f).ToList(), realSet, referenceSet):F3}");
    Console.WriteLine($"takes under the envelope LSTM ({bandsE} bands): FAD ratio {QualityMetrics.FrechetOverReal(sets.Skip(plain.Count).SelectMany(f => f).ToList(), realSet, referenceSet):F3}");
    Console.WriteLine($"pulse {QualityMetrics.PulseRatio(plain, referenceClips):F3} / {QualityMetrics.PulseRatio(shaped, referenceClips):F3}, tonality {QualityMetrics.TonalityRatio(plain, referenceClips):F3} / {QualityMetrics.TonalityRatio(shaped, referenceClips):F3}");
    return 0;
}

foreach (var name in variants)
{
    // NAME@N: the variant with N Griffin-Lim iterations instead of the model's own
    var variant = name.Split('@')[0];
    int iterations = name.Contains('@') ? int.Parse(name.Split('@')[1]) : 0;
    var decoded = referenceFrames.Select(frames => Codec(variant, frames)).ToList();
    var clips = decoded.Select((frames, i) =>
    {
        var samples = vectorizer.Invert(frames, 1, iterations)[0];
        return new AudioClip(sampleRate, [samples.AsSpan(0, Math.Min(referenceClips[i].Length, samples.Length)).ToArray()]);
    }).ToList();
    var set = embedder.Embed(clips).SelectMany(f => f).ToList();
    Console.WriteLine($"{name}: codec transparency {QualityMetrics.FrechetOverReal(set, realSet, referenceSet):F3}");
}
return 0;

float[] Codec(string variant, float[] frames)
{
    if (variant == "medoid") return codebook.Decode(codebook.Encode(frames));
    if (variant == "raw") return frames;
    if (variant == "model") return stages.Tokenizer!.Reconstruct(frames);
    if (variant.StartsWith("hiraw", StringComparison.Ordinal) || variant.StartsWith("loraw", StringComparison.Ordinal))
    {
        // hirawHZ, lorawHZ: the model's codec with the bins above (hiraw) or below (loraw) HZ as analysed
        var model = stages.Tokenizer!.Reconstruct(frames);
        int cut = (int)(double.Parse(variant[5..]) * (bins - 1) * 2 / sampleRate);
        bool high = variant.StartsWith("hiraw", StringComparison.Ordinal);
        for (int t = 0; t < frames.Length / bins; t++)
            for (int i = 0; i < bins; i++)
                if (high ? i >= cut : i < cut) model[t * bins + i] = frames[t * bins + i];
        return model;
    }
    if (variant == "tsmooth" || variant == "tsmoothlin") return Smoothed(codebook.Decode(codebook.Encode(frames)), variant == "tsmoothlin");
    if (variant.StartsWith("tri", StringComparison.Ordinal)) return Triangular(codebook.Decode(codebook.Encode(frames)), int.Parse(variant[3..]));
    if (variant.StartsWith("release", StringComparison.Ordinal)) return Released(codebook.Decode(codebook.Encode(frames)), double.Parse(variant[7..]));
    if (variant.StartsWith("rvq", StringComparison.Ordinal))
    {
        // rvqS_B[xK]: S stages of K residual tokens over B mel bands' log energies, laid over the exemplar as its envelope
        var parts = variant[3..].Split('x');
        var sb = parts[0].Split('_').Select(int.Parse).ToArray();
        return ResidualEnvelope(frames, sb[0], sb[1], parts.Length > 1 ? int.Parse(parts[1]) : 512);
    }
    if (variant.StartsWith("units", StringComparison.Ordinal)) return UnitSelected(frames, variant.Length > 5 ? int.Parse(variant[5..]) : int.MaxValue);
    if (variant == "allnearest") return AllNearest(frames);
    if (variant.StartsWith("members", StringComparison.Ordinal))
    {
        // membersM_N: each token keeps M of its training frames (at random); a frame plays the member whose N-band
        // envelope is nearest its own, shaped to that envelope in three passes
        var mn = variant[7..].Split('_').Select(int.Parse).ToArray();
        return Members(frames, mn[0], mn[1]);
    }
    if (variant.StartsWith("render", StringComparison.Ordinal))
    {
        // renderW_B: a small network, fitted on the training music, renders each token's B-band envelope from the
        // tokens W frames either side (no information beyond the tokens)
        var wb = variant[6..].Split('_').Select(int.Parse).ToArray();
        return Rendered(frames, wb[0], wb[1]);
    }
    if (variant.StartsWith("env", StringComparison.Ordinal) || variant.StartsWith("fenv", StringComparison.Ordinal))
    {
        // envN[_P]: P passes of shaping (default 1); fenv: bands at least a bin apart (MelFilters.BinFloored)
        bool floored = variant[0] == 'f';
        var np = variant[(floored ? 4 : 3)..].Split('_').Select(int.Parse).ToArray();
        var shaped = codebook.Decode(codebook.Encode(frames));
        for (int pass = 0; pass < (np.Length > 1 ? np[1] : 1); pass++) shaped = WithEnvelopeOf(frames, shaped, np[0], floored);
        return shaped;
    }
    if (variant == "gain") return WithLevelOf(frames, codebook.Decode(codebook.Encode(frames)));
    if (variant.StartsWith("nearest", StringComparison.Ordinal)) return codebook.Decode(NearestExemplars(frames, variant == "nearestmel"));
    if (variant.StartsWith('k'))
    {
        var fitted = Fitted(variant, int.Parse(variant[1..]), f => f);
        return fitted.Decode(fitted.Encode(frames));
    }
    if (variant.StartsWith("split", StringComparison.Ordinal))
    {
        int cut = (int)Math.Round(int.Parse(variant[5..]) * (bins - 1) * 2.0 / sampleRate);
        var low = Fitted(variant + " low", 512, f => Band(f, 0, cut));
        var high = Fitted(variant + " high", 512, f => Band(f, cut, bins));
        var result = low.Decode(low.Encode(Band(frames, 0, cut)));
        var upper = high.Decode(high.Encode(Band(frames, cut, bins)));
        for (int t = 0; t < result.Length / bins; t++) upper.AsSpan(t * bins + cut, bins - cut).CopyTo(result.AsSpan(t * bins + cut));
        return result;
    }
    if (variant.StartsWith("bands", StringComparison.Ordinal))
    {
        // bandsHZ_HZ_..._xK: one codebook of K per band between the cuts
        var parts = variant[5..].Split('x');
        int size = parts.Length > 1 ? int.Parse(parts[1]) : 512;
        var cuts = parts[0].Split('_').Select(h => (int)Math.Round(int.Parse(h) * (bins - 1) * 2.0 / sampleRate)).Prepend(0).Append(bins).ToArray();
        var result = new float[frames.Length];
        for (int i = 0; i + 1 < cuts.Length; i++)
        {
            int from = cuts[i], to = cuts[i + 1];
            var book = Fitted($"{variant} {i}", size, f => Band(f, from, to));
            var part = book.Decode(book.Encode(Band(frames, from, to)));
            for (int t = 0; t < result.Length / bins; t++) part.AsSpan(t * bins + from, to - from).CopyTo(result.AsSpan(t * bins + from));
        }
        return result;
    }
    if (variant.StartsWith("peaks", StringComparison.Ordinal)) return WithPeaks(frames, int.Parse(variant[5..]), false);
    if (variant.StartsWith("speaks", StringComparison.Ordinal)) return WithPeaks(frames, int.Parse(variant[6..]), true, smooth: true);
    if (variant.StartsWith("qpeaks", StringComparison.Ordinal)) return WithPeaks(frames, int.Parse(variant[6..]), true);
    if (variant.StartsWith("shift", StringComparison.Ordinal)) return Transposed(frames, int.Parse(variant[5..]));
    throw new ArgumentException($"unknown variant {variant}");
}

// A codebook fitted on the training frames as seen through a view (a band), once per name.
Codebook Fitted(string name, int tokens, Func<float[], float[]> view)
{
    if (!fittedCodebooks.TryGetValue(name, out var fitted))
        fittedCodebooks[name] = fitted = CodebookFitting.Fit(trainingFrames.Value.Select(view).ToList(), bins, sampleRate, tokens, codebook.Bands, 1);
    return fitted;
}

float[] Band(float[] frames, int from, int to)
{
    var result = (float[])frames.Clone();
    for (int t = 0; t < result.Length / bins; t++)
        for (int b = 0; b < bins; b++)
            if (b < from || b >= to) result[t * bins + b] = trainingFloor.Value;
    return result;
}

// Each frame's token chosen by the exemplar nearest the frame itself (the log magnitudes, or their mel bands), not by
// the centroid nearest its description: what decoding will play is what is compared.
int[] NearestExemplars(float[] frames, bool mel)
{
    var exemplars = codebook.Decode(Enumerable.Range(0, codebook.TokenCount).ToArray());
    int size = mel ? codebook.Bands : bins;
    float[] View(float[] source, int count)
    {
        if (!mel) return source;
        var described = new float[count * size];
        for (int t = 0; t < count; t++) codebook.Describe(source.AsSpan(t * bins, bins), described.AsSpan(t * size, size));
        return described;
    }
    var keys = View(exemplars, codebook.TokenCount);
    var views = View(frames, frames.Length / bins);
    var tokens = new int[frames.Length / bins];
    var difference = new float[size];
    for (int t = 0; t < tokens.Length; t++)
    {
        float best = float.MaxValue;
        for (int k = 0; k < codebook.TokenCount; k++)
        {
            System.Numerics.Tensors.TensorPrimitives.Subtract(views.AsSpan(t * size, size), keys.AsSpan(k * size, size), difference);
            float d = System.Numerics.Tensors.TensorPrimitives.SumOfSquares(difference);
            if (d < best) { best = d; tokens[t] = k; }
        }
    }
    return tokens;
}

// The exemplars smoothed across time, bin by bin, with weights 1/4, 1/2, 1/4: in log magnitudes, or in magnitudes.
float[] Smoothed(float[] decoded, bool linear)
{
    int count = decoded.Length / bins;
    var result = new float[decoded.Length];
    for (int t = 0; t < count; t++)
        for (int b = 0; b < bins; b++)
        {
            float Value(int u) => decoded[Math.Clamp(u, 0, count - 1) * bins + b];
            result[t * bins + b] = linear
                ? (float)Math.Log(0.25 * Math.Exp(Value(t - 1)) + 0.5 * Math.Exp(Value(t)) + 0.25 * Math.Exp(Value(t + 1)))
                : 0.25f * Value(t - 1) + 0.5f * Value(t) + 0.25f * Value(t + 1);
        }
    return result;
}

// The exemplars smoothed across 2 * half + 1 frames with triangular weights, in log magnitudes.
float[] Triangular(float[] decoded, int half)
{
    int count = decoded.Length / bins;
    var result = new float[decoded.Length];
    for (int t = 0; t < count; t++)
    {
        double total = 0;
        for (int u = -half; u <= half; u++)
        {
            double w = half + 1 - Math.Abs(u);
            total += w;
            var from = decoded.AsSpan(Math.Clamp(t + u, 0, count - 1) * bins, bins);
            for (int b = 0; b < bins; b++) result[t * bins + b] += (float)(w * from[b]);
        }
        for (int b = 0; b < bins; b++) result[t * bins + b] /= (float)total;
    }
    return result;
}

// The exemplars with each bin's fall limited to D dB a frame (rises kept whole): a release, as a sounding note has.
float[] Released(float[] decoded, double decibels)
{
    int count = decoded.Length / bins;
    var result = (float[])decoded.Clone();
    float fall = (float)(decibels / 20 * Math.Log(10));
    for (int t = 1; t < count; t++)
        for (int b = 0; b < bins; b++)
            result[t * bins + b] = Math.Max(result[t * bins + b], result[(t - 1) * bins + b] - fall);
    return result;
}

// Log energies of N mel bands per frame ([frames, N]), in log-magnitude units (half the log power).
float[] MelEnergies(float[] frames, MelEnvelope envelope) => envelope.Energies(frames);

// Per-band gains ([frames, B]) spread over the bins by the filters' weights, added to the frames in place.
void ApplyGains(float[] frames, float[] gains, MelEnvelope envelope)
{
    for (int t = 0; t < frames.Length / bins; t++) envelope.Shape(frames.AsSpan(t * bins, bins), gains.AsSpan(t * envelope.Bands, envelope.Bands));
}

float[] ResidualEnvelope(float[] frames, int stages, int bands, int size)
{
    var mel = new MelEnvelope(bands, (bins - 1) * 2, sampleRate);
    float[] Residual(float[] f)
    {
        var o = MelEnergies(f, mel);
        var d = MelEnergies(codebook.Decode(codebook.Encode(f)), mel);
        for (int i = 0; i < o.Length; i++) o[i] -= d[i];
        return o;
    }
    string key = $"{bands}x{size}";
    if (!residualBooks.TryGetValue(key, out var books)) residualBooks[key] = books = [];
    if (books.Count < stages)
    {
        var train = trainingFrames.Value.SelectMany(Residual).ToArray();
        foreach (var book in books) Quantise(train, book, bands, subtract: true);
        while (books.Count < stages)
        {
            var book = KMeansPlain(train, bands, size, 20);
            books.Add(book);
            Quantise(train, book, bands, subtract: true);
        }
    }
    var residual = Residual(frames);
    var total = new float[residual.Length];
    for (int s = 0; s < stages; s++)
    {
        var q = Quantise(residual, books[s], bands, subtract: true);
        for (int i = 0; i < q.Length; i++) total[i] += q[i];
    }
    var decoded = codebook.Decode(codebook.Encode(frames));
    ApplyGains(decoded, total, mel);
    return decoded;
}

// Each row's nearest centroid; returns the centroids chosen (row by row), and takes them from the rows if asked.
float[] Quantise(float[] rows, float[] centres, int dims, bool subtract)
{
    using var scope = TorchSharp.torch.NewDisposeScope();
    var x = TorchSharp.torch.tensor(rows, [rows.Length / dims, dims]);
    var c = TorchSharp.torch.tensor(centres, [centres.Length / dims, dims]);
    var nearest = TorchSharp.torch.cdist(x, c).argmin(1);
    var chosen = c.index_select(0, nearest).data<float>().ToArray();
    if (subtract) for (int i = 0; i < rows.Length; i++) rows[i] -= chosen[i];
    return chosen;
}

float[] KMeansPlain(float[] rows, int dims, int k, int iterations)
{
    using var scope = TorchSharp.torch.NewDisposeScope();
    int n = rows.Length / dims;
    var x = TorchSharp.torch.tensor(rows, [n, dims]);
    var rng = new Random(1);
    var c = x.index_select(0, TorchSharp.torch.tensor(Enumerable.Range(0, k).Select(_ => (long)rng.Next(n)).ToArray())).clone();
    for (int it = 0; it < iterations; it++)
    {
        var a = TorchSharp.torch.cdist(x, c).argmin(1);
        var sums = TorchSharp.torch.zeros(k, dims).index_add_(0, a, x, 1);
        var sizes = TorchSharp.torch.zeros(k).index_add_(0, a, TorchSharp.torch.ones(n), 1);
        var filled = sizes.ge(1).unsqueeze(1);
        c = TorchSharp.torch.where(filled, sums / sizes.clamp_min(1).unsqueeze(1), c);
    }
    return c.data<float>().ToArray();
}

// A second LSTM over (token, last frame's envelope residual) that predicts each frame's envelope residual against its
// exemplar (B mel bands, log-magnitude units), fitted on the training music with noise on its inputs; returns a function
// that primes it on a seed's frames and rolls it out over sampled tokens, returning the residuals [tokens, B].
Func<float[], int[], float[]> TrainEnvelopeLstm(int bands, MelEnvelope mel)
{
    var exemplarEnergies = MelEnergies(codebook.Decode(Enumerable.Range(0, codebook.TokenCount).ToArray()), mel);
    (int[] Tokens, float[] Residuals) Analyse(float[] f)
    {
        var tokens = codebook.Encode(f);
        var energies = MelEnergies(f, mel);
        for (int t = 0; t < tokens.Length; t++)
            for (int b = 0; b < bands; b++)
                energies[t * bands + b] = Math.Clamp(energies[t * bands + b] - exemplarEnergies[tokens[t] * bands + b], -6f, 6f);
        return (tokens, energies);
    }
    var files = trainingFrames.Value.Select(Analyse).ToList();
    TorchSharp.torch.manual_seed(1);
    const int embed = 32, length = 64, batch = 32;
    int hiddenSize = int.Parse(Environment.GetEnvironmentVariable("EHIDDEN") ?? "256");
    var embedding = TorchSharp.torch.nn.Embedding(codebook.TokenCount, embed);
    var lstm = TorchSharp.torch.nn.LSTM(embed + bands, hiddenSize, batchFirst: true);
    var head = TorchSharp.torch.nn.Linear(hiddenSize, bands);
    var parameters = embedding.parameters().Concat(lstm.parameters()).Concat(head.parameters()).ToList();
    var optimizer = TorchSharp.torch.optim.Adam(parameters, 2e-3);
    var rng = new Random(1);
    int steps = int.Parse(Environment.GetEnvironmentVariable("ESTEPS") ?? "600");
    float noise = float.Parse(Environment.GetEnvironmentVariable("ENOISE") ?? "0.3");
    bool zeroInput = Environment.GetEnvironmentVariable("EZERO") == "1";
    double running = 0;
    for (int step = 0; step < steps; step++)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var tok = new long[batch * length];
        var prev = new float[batch * length * bands];
        var target = new float[batch * length * bands];
        for (int i = 0; i < batch; i++)
        {
            var (tokens, residuals) = files[rng.Next(files.Count)];
            int start = 1 + rng.Next(Math.Max(1, tokens.Length - length - 1));
            for (int t = 0; t < length && start + t < tokens.Length; t++)
            {
                tok[i * length + t] = tokens[start + t];
                Array.Copy(residuals, (start + t - 1) * bands, prev, (i * length + t) * bands, bands);
                Array.Copy(residuals, (start + t) * bands, target, (i * length + t) * bands, bands);
            }
        }
        var input = TorchSharp.torch.tensor(prev, [batch, length, bands]);
        input = zeroInput ? TorchSharp.torch.zeros_like(input) : input + TorchSharp.torch.randn_like(input) * noise;
        var (output, _, _) = lstm.call(TorchSharp.torch.cat([embedding.call(TorchSharp.torch.tensor(tok, [batch, length])), input], 2));
        var loss = TorchSharp.torch.nn.functional.mse_loss(head.call(output), TorchSharp.torch.tensor(target, [batch, length, bands]));
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        running = step == 0 ? loss.item<float>() : 0.98 * running + 0.02 * loss.item<float>();
        if (step % 100 == 99) Console.Error.WriteLine($"envelope lstm step {step + 1}: mse {running:F4}");
    }
    return (primeFrames, takeTokens) =>
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var noGrad = TorchSharp.torch.no_grad();
        var (tokens, residuals) = Analyse(primeFrames);
        var prevs = new float[tokens.Length * bands];
        if (!zeroInput) Array.Copy(residuals, 0, prevs, bands, (tokens.Length - 1) * bands);
        var (_, h, c) = lstm.call(TorchSharp.torch.cat([embedding.call(TorchSharp.torch.tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Length])),
            TorchSharp.torch.tensor(prevs, [1, tokens.Length, bands])], 2));
        var last = zeroInput ? TorchSharp.torch.zeros(1, 1, bands) : TorchSharp.torch.tensor(residuals.AsSpan((tokens.Length - 1) * bands, bands).ToArray(), [1, 1, bands]);
        var result = new float[takeTokens.Length * bands];
        for (int t = 0; t < takeTokens.Length; t++)
        {
            var (o, h2, c2) = lstm.call(TorchSharp.torch.cat([embedding.call(TorchSharp.torch.tensor(new long[] { takeTokens[t] }, [1, 1])), last], 2), (h, c));
            h = h2; c = c2;
            last = head.call(o);
            last.data<float>().CopyTo(result, t * bands);
            if (zeroInput) last = TorchSharp.torch.zeros_like(last);
        }
        return result;
    };
}

// Each frame as the training frame nearest it in the codebook's description (an oracle: the ceiling of a vocabulary of
// every training frame).
float[] AllNearest(float[] frames)
{
    var (described, _, flat) = TrainingUnits();
    int bands = codebook.Bands;
    var mine = new float[frames.Length / bins * bands];
    for (int t = 0; t < frames.Length / bins; t++) codebook.Describe(frames.AsSpan(t * bins, bins), mine.AsSpan(t * bands, bands));
    using var scope = TorchSharp.torch.NewDisposeScope();
    var d = TorchSharp.torch.tensor(described, [described.Length / bands, bands]);
    var result = new float[frames.Length];
    for (int at = 0; at < mine.Length / bands; at += 256)
    {
        int count = Math.Min(256, mine.Length / bands - at);
        var q = TorchSharp.torch.tensor(mine.AsSpan(at * bands, count * bands).ToArray(), [count, bands]);
        var nearest = TorchSharp.torch.cdist(q, d).argmin(1).data<long>().ToArray();
        for (int i = 0; i < count; i++) flat[(int)nearest[i]].CopyTo(result.AsSpan((at + i) * bins, bins));
    }
    return result;
}

(float[] Described, int[][] Tokens, float[][] Flat) TrainingUnits()
{
    if (trainingUnits.Described is not null) return trainingUnits;
    int bands = codebook.Bands;
    var flat = trainingFrames.Value.SelectMany(f => Enumerable.Range(0, f.Length / bins).Select(t => f.AsSpan(t * bins, bins).ToArray())).ToArray();
    var described = new float[flat.Length * bands];
    for (int i = 0; i < flat.Length; i++) codebook.Describe(flat[i], described.AsSpan(i * bands, bands));
    return trainingUnits = (described, trainingFrames.Value.Select(f => codebook.Encode(f)).ToArray(), flat);
}

// The tokens decoded by unit selection: each token plays one of the training frames it encodes, the next frame of the
// passage last played when the token allows it, else the member whose predecessor is nearest the frame last played.
// At most `limit` members per token (the first met).
float[] UnitSelected(float[] frames, int limit)
{
    var (described, tokens, flat) = TrainingUnits();
    int bands = codebook.Bands;
    var members = new List<int>[codebook.TokenCount];
    for (int k = 0; k < members.Length; k++) members[k] = [];
    var next = new int[flat.Length];        // the flat index of the training frame after, or -1
    var previous = new int[flat.Length];
    var rng = new Random(1);
    int start = 0;
    var order = new List<(int Flat, int Token)>();
    foreach (var file in tokens)
    {
        for (int t = 0; t < file.Length; t++)
        {
            next[start + t] = t + 1 < file.Length ? start + t + 1 : -1;
            previous[start + t] = t > 0 ? start + t - 1 : start + t;
            order.Add((start + t, file[t]));
        }
        start += file.Length;
    }
    foreach (var (i, k) in order.OrderBy(_ => rng.Next()))
        if (members[k].Count < limit) members[k].Add(i);
    var inSet = new HashSet<int>(members.SelectMany(m => m));
    var referenceTokens = codebook.Encode(frames);
    var result = new float[frames.Length];
    int played = -1;
    for (int t = 0; t < referenceTokens.Length; t++)
    {
        int k = referenceTokens[t], choice = -1;
        if (played >= 0 && next[played] >= 0 && inSet.Contains(next[played]) && tokens.Length > 0)
        {
            int candidate = next[played];
            if (members[k].Contains(candidate)) choice = candidate;
        }
        if (choice < 0)
        {
            if (played < 0) choice = members[k][0];
            else
            {
                float best = float.MaxValue;
                foreach (int m in members[k])
                {
                    float distance = 0;
                    int p = previous[m];
                    for (int b = 0; b < bands; b++) { float e = described[p * bands + b] - described[played * bands + b]; distance += e * e; }
                    if (distance < best) { best = distance; choice = m; }
                }
            }
        }
        flat[choice].CopyTo(result.AsSpan(t * bins, bins));
        played = choice;
    }
    return result;
}

float[] Rendered(float[] frames, int half, int bands)
{
    var mel = new MelEnvelope(bands, (bins - 1) * 2, sampleRate);
    var exemplarEnergies = MelEnergies(codebook.Decode(Enumerable.Range(0, codebook.TokenCount).ToArray()), mel);
    long[] Windows(int[] tokens)
    {
        var w = new long[tokens.Length * (2 * half + 1)];
        for (int t = 0; t < tokens.Length; t++)
            for (int u = -half; u <= half; u++) w[t * (2 * half + 1) + u + half] = tokens[Math.Clamp(t + u, 0, tokens.Length - 1)];
        return w;
    }
    var inputs = new List<long>();
    var targets = new List<float>();
    foreach (var file in trainingFrames.Value)
    {
        var tokens = codebook.Encode(file);
        inputs.AddRange(Windows(tokens));
        var energies = MelEnergies(file, mel);
        for (int t = 0; t < tokens.Length; t++)
            for (int b = 0; b < bands; b++) targets.Add(Math.Clamp(energies[t * bands + b] - exemplarEnergies[tokens[t] * bands + b], -6f, 6f));
    }
    int n = targets.Count / bands, width = 2 * half + 1, embed = 32;
    TorchSharp.torch.manual_seed(1);
    var embedding = TorchSharp.torch.nn.Embedding(codebook.TokenCount, embed);
    var hidden = TorchSharp.torch.nn.Linear(width * embed, 512);
    var output = TorchSharp.torch.nn.Linear(512, bands);
    var parameters = embedding.parameters().Concat(hidden.parameters()).Concat(output.parameters()).ToList();
    var optimizer = TorchSharp.torch.optim.Adam(parameters, 1e-3);
    var x = TorchSharp.torch.tensor(inputs.ToArray(), [n, width]);
    var y = TorchSharp.torch.tensor(targets.ToArray(), [n, bands]);
    TorchSharp.torch.Tensor Forward(TorchSharp.torch.Tensor windows) =>
        output.call(TorchSharp.torch.nn.functional.gelu(hidden.call(embedding.call(windows).reshape(windows.shape[0], -1))));
    var rng = new Random(1);
    for (int epoch = 0; epoch < 12; epoch++)
    {
        var order = TorchSharp.torch.randperm(n);
        double total = 0;
        for (int at = 0; at < n; at += 512)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            var index = order.narrow(0, at, Math.Min(512, n - at));
            var loss = TorchSharp.torch.nn.functional.mse_loss(Forward(x.index_select(0, index)), y.index_select(0, index));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            total += loss.item<float>() * index.shape[0];
        }
        Console.Error.WriteLine($"render{half}_{bands} epoch {epoch}: mse {total / n:F4} (zero: {y.square().mean().item<float>():F4})");
    }
    var referenceTokens = codebook.Encode(frames);
    float[] gains;
    using (TorchSharp.torch.no_grad())
        gains = Forward(TorchSharp.torch.tensor(Windows(referenceTokens), [referenceTokens.Length, width])).data<float>().ToArray();
    var decoded = codebook.Decode(referenceTokens);
    ApplyGains(decoded, gains, mel);
    return decoded;
}

// Each token's exemplar replaced, frame by frame, by the one of M of its training frames whose N-band envelope is
// nearest the frame's: a larger vocabulary chosen by what the envelope channel already sends.
float[] Members(float[] frames, int perToken, int bands)
{
    var envelope = new MelEnvelope(bands, (bins - 1) * 2, sampleRate);
    var all = trainingFrames.Value.SelectMany(f => f).ToArray();
    var allTokens = codebook.Encode(all);
    var rng = new Random(1);
    var members = Enumerable.Range(0, allTokens.Length).GroupBy(i => allTokens[i])
        .ToDictionary(g => g.Key, g => g.OrderBy(_ => rng.Next()).Take(perToken).Select(i => (Frame: i, Energies: envelope.Energies(all.AsSpan(i * bins, bins)))).ToArray());
    var tokens = codebook.Encode(frames);
    var target = envelope.Energies(frames);
    var result = codebook.Decode(tokens);
    for (int t = 0; t < tokens.Length; t++)
    {
        if (!members.TryGetValue(tokens[t], out var candidates)) continue;
        var want = target.AsMemory(t * bands, bands);
        var best = candidates.MinBy(m => System.Numerics.Tensors.TensorPrimitives.Distance(m.Energies, want.Span));
        all.AsSpan(best.Frame * bins, bins).CopyTo(result.AsSpan(t * bins, bins));
    }
    for (int pass = 0; pass < 3; pass++) result = WithEnvelopeOf(frames, result, bands);
    return result;
}

// The exemplars under each frame's own envelope: N mel bands' log energies of the frame replace the exemplar's, the
// correction spread over the bins by the triangular filters' weights. What a continuous envelope channel would give.
float[] WithEnvelopeOf(float[] original, float[] decoded, int bands, bool floored = false)
{
    var envelope = new MelEnvelope(bands, (bins - 1) * 2, sampleRate, floored);
    var gains = MelEnergies(original, envelope);
    var own = MelEnergies(decoded, envelope);
    for (int i = 0; i < gains.Length; i++) gains[i] -= own[i];
    ApplyGains(decoded, gains, envelope);
    return decoded;
}

float[] WithLevelOf(float[] original, float[] decoded)
{
    for (int t = 0; t < decoded.Length / bins; t++)
    {
        float level = (original.AsSpan(t * bins, bins).ToArray().Sum() - decoded.AsSpan(t * bins, bins).ToArray().Sum()) / bins;
        for (int b = 0; b < bins; b++) decoded[t * bins + b] += level;
    }
    return decoded;
}

// The model's exemplars with the N most prominent spectral peaks of each frame laid over them: exactly (the peak's
// main lobe copied), or quantised (centre to a quarter tone, level to 3 dB, drawn as a Hann window's main lobe).
float[] WithPeaks(float[] frames, int count, bool quantised, bool smooth = false)
{
    var result = codebook.Decode(codebook.Encode(frames));
    if (smooth)
    {
        // the exemplar's envelope without its partials: a running minimum, then a running mean, over 17 bins
        var copy = (float[])result.Clone();
        for (int t = 0; t < result.Length / bins; t++)
            for (int b = 0; b < bins; b++)
            {
                float low = float.MaxValue;
                for (int j = Math.Max(0, b - 8); j <= Math.Min(bins - 1, b + 8); j++) low = Math.Min(low, copy[t * bins + j]);
                result[t * bins + b] = low;
            }
        copy = (float[])result.Clone();
        for (int t = 0; t < result.Length / bins; t++)
            for (int b = 0; b < bins; b++)
            {
                double sum = 0; int n = 0;
                for (int j = Math.Max(0, b - 8); j <= Math.Min(bins - 1, b + 8); j++) { sum += copy[t * bins + j]; n++; }
                result[t * bins + b] = (float)(sum / n);
            }
    }
    double hz = sampleRate / (2.0 * (bins - 1));
    for (int t = 0; t < frames.Length / bins; t++)
    {
        var f = frames.AsSpan(t * bins, bins);
        var r = result.AsSpan(t * bins, bins);
        var peaks = new List<(int Bin, float Prominence)>();
        for (int b = 3; b < bins - 3; b++)
            if (f[b] > f[b - 1] && f[b] >= f[b + 1] && b * hz > 30) peaks.Add((b, f[b] - r[b]));
        foreach (var (b, _) in peaks.OrderByDescending(p => p.Prominence).Take(count))
        {
            if (!quantised)
            {
                for (int j = b - 2; j <= b + 2; j++) r[j] = Math.Max(r[j], f[j]);
                continue;
            }
            // parabolic centre, then a quarter tone grid; level in 3 dB steps (natural log: 0.345)
            double a = f[b - 1], c = f[b + 1], m = f[b];
            double centre = b + Math.Clamp((a - c) / (2 * (a - 2 * m + c) + 1e-9), -0.5, 0.5);
            double q = Math.Round(48 * Math.Log2(centre * hz / 440.0));
            centre = 440.0 * Math.Pow(2, q / 48) / hz;
            double level = Math.Round(m / 0.345) * 0.345;
            for (int j = (int)Math.Floor(centre) - 2; j <= (int)Math.Ceiling(centre) + 2; j++)
            {
                if (j < 0 || j >= bins) continue;
                double d = Math.Abs(j - centre);
                if (d >= 2) continue;
                double lobe = d < 1e-6 ? 1 : Math.Abs(Math.Sin(Math.PI * d) / (Math.PI * d) / (1 - d * d));
                r[j] = Math.Max(r[j], (float)(level + Math.Log(Math.Max(lobe, 1e-4))));
            }
        }
    }
    return result;
}

float[] Shift(ReadOnlySpan<float> frame, double semitones)
{
    var result = new float[bins];
    double ratio = Math.Pow(2, semitones / 12);
    for (int b = 0; b < bins; b++)
    {
        double x = b / ratio;
        int i = (int)x;
        result[b] = i + 1 < bins ? (float)((1 - (x - i)) * frame[i] + (x - i) * frame[i + 1]) : floor;
    }
    return result;
}

float[] Transposed(float[] frames, int most)
{
    var centroids = codebook.Descriptors();
    int bands = codebook.Bands;
    var result = new float[frames.Length];
    var description = new float[bands];
    for (int t = 0; t < frames.Length / bins; t++)
    {
        double best = double.MaxValue;
        for (int s = -most; s <= most; s++)
        {
            var back = Shift(frames.AsSpan(t * bins, bins), -s);
            codebook.Describe(back, description);
            int token = codebook.EncodeFrame(back);
            double distance = 0;
            for (int j = 0; j < bands; j++) distance += Math.Pow(description[j] - centroids[token * bands + j], 2);
            if (distance >= best) continue;
            best = distance;
            Shift(codebook.Decode([token]), s).CopyTo(result, t * bins);
        }
    }
    return result;
}
