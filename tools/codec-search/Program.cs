// Codec transparency (docs/quality.md, measure 9) of other codecs than a model's own, on the same reference tracks and
// real excerpts as `musicgen evaluate`: docs/evaluation.md's codec search. Each variant encodes the reference's
// log-magnitude frames, decodes them, rebuilds phase with the model's Griffin-Lim and embeds the audio with Basic Pitch.
// Usage: codec-search MODEL.zip --train FILES... --reference FILES... --seeds FILES... [--variants medoid,raw,...]
// Variants: medoid (the model's codebook), raw (no tokens), gain (medoid with the frame's mean level), kN (a codebook
// of N tokens fitted on --train), splitHZ (two codebooks of 512, below and above HZ), bandsHZ_HZ_...[xK] (one codebook
// of K, default 512, per band between the cuts), shiftN (the model's exemplars transposed by up to N semitones, the
// nearest kept), peaksN (the exemplars with each frame's N most prominent peaks copied over them), qpeaksN (the same
// peaks quantised: a quarter tone, 3 dB), speaksN (quantised peaks over the exemplar's smoothed envelope), nearest and
// nearestmel (the model's exemplars, each frame encoded as the exemplar nearest it in log magnitudes or mel bands),
// tsmooth and tsmoothlin (the exemplars smoothed across three frames, in log magnitudes or in magnitudes), triN (across
// 2N + 1 frames, triangular weights, log magnitudes), releaseD (each bin's fall limited to D dB a frame).
using Microsoft.ML;
using MusicGen;
using MusicGen.Estimators.Tokens;
using MusicGen.Evaluation;
using MusicGen.Transforms.Audio;
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

var embedder = BasicPitch.Find(out var missing) ?? throw new InvalidOperationException(missing);
var real = QualityMetrics.Excerpts(Group("--seeds").Select(f => AudioFile.Read(f)).ToList(), 20, 3);
var fixedSets = embedder.Embed([.. real, .. referenceClips]);
var realSet = fixedSets.Take(real.Count).SelectMany(f => f).ToList();
var referenceSet = fixedSets.Skip(real.Count).SelectMany(f => f).ToList();

foreach (var variant in variants)
{
    var decoded = referenceFrames.Select(frames => Codec(variant, frames)).ToList();
    var clips = decoded.Select((frames, i) =>
    {
        var samples = vectorizer.Invert(frames, 1)[0];
        return new AudioClip(sampleRate, [samples.AsSpan(0, Math.Min(referenceClips[i].Length, samples.Length)).ToArray()]);
    }).ToList();
    var set = embedder.Embed(clips).SelectMany(f => f).ToList();
    Console.WriteLine($"{variant}: codec transparency {QualityMetrics.FrechetOverReal(set, realSet, referenceSet):F3}");
}
return 0;

float[] Codec(string variant, float[] frames)
{
    if (variant == "medoid") return codebook.Decode(codebook.Encode(frames));
    if (variant == "raw") return frames;
    if (variant == "tsmooth" || variant == "tsmoothlin") return Smoothed(codebook.Decode(codebook.Encode(frames)), variant == "tsmoothlin");
    if (variant.StartsWith("tri", StringComparison.Ordinal)) return Triangular(codebook.Decode(codebook.Encode(frames)), int.Parse(variant[3..]));
    if (variant.StartsWith("release", StringComparison.Ordinal)) return Released(codebook.Decode(codebook.Encode(frames)), double.Parse(variant[7..]));
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
