using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Spectral;
using static TorchSharp.torch;
using MusicGen.Transforms.Torch;

namespace MusicGen.Evaluation;

/// <summary>
/// The fixed measures of generated audio from docs/quality.md, on log-mel frames: mono mix, 22050 Hz, STFT n_fft 2048 /
/// hop 512 / Hann, 64 triangular HTK mel bands from 0 to 11025 Hz, natural log of (band power + 1e-10). Each measure is
/// a ratio against reference (held-out) audio so that results compare across versions: spectral flux, Frechet distance
/// (and seed sensitivity, a ratio of two of them), loudness movement, tonality and the copy rate's window search; the
/// next-frame error ratios need a model and come with <see cref="Evaluator"/>.
/// </summary>
public static class QualityMetrics
{
    /// <summary>Sample rate the measures work at.</summary>
    public const int SampleRate = 22050;
    private const int FrameSize = 2048, Hop = 512, Bands = 64;

    /// <summary>Log-mel frames [frames][64] of a clip, per the fixed definition (resampled to 22050 Hz mono first).</summary>
    /// <remarks>
    /// Only whole frames of the audio are used (no padding at the ends: a padded edge frame of a steady tone is not
    /// steady, and would count as movement). Computed in double precision: in float32 the FFT's rounding noise in bands 100 dB below a tone sits near the
    /// 1e-10 floor, and its log flickers enough to give a perfectly steady buzz a flux of 0.1.
    /// </remarks>
    public static float[][] LogMel(AudioClip clip)
    {
        var mono = Prepare(clip);
        if (mono.Length < FrameSize) return [];
        using var scope = NewDisposeScope();
        var signal = Tensors.Wrap(mono, mono.Length).to(ScalarType.Float64);
        var power = stft(signal, FrameSize, Hop, window: hann_window(FrameSize, dtype: ScalarType.Float64), center: false, return_complex: true)
            .abs().Squared();                                                                  // [B, F]
        var bank = tensor(MelFilters.Triangular(Bands, FrameSize, SampleRate).Select(v => (double)v).ToArray(), [Bands, FrameSize / 2 + 1], ScalarType.Float64);
        using TorchSharp.Scalar floor = 1e-10;
        var logMel = matmul(bank, power).Plus(floor).log().t().to(ScalarType.Float32);          // [F, 64]
        var flat = Tensors.ToArray(logMel);
        return Enumerable.Range(0, flat.Length / Bands).Select(f => flat.AsSpan(f * Bands, Bands).ToArray()).ToArray();
    }

    /// <summary>Mean over frames of the root-mean-square difference between consecutive log-mel frames. A buzz is about 0.</summary>
    public static double Flux(float[][] frames)
    {
        if (frames.Length < 2) return 0;
        double total = 0;
        for (int t = 1; t < frames.Length; t++)
        {
            double sum = 0;
            for (int d = 0; d < frames[t].Length; d++)
            {
                double diff = frames[t][d] - frames[t - 1][d];
                sum += diff * diff;
            }
            total += Math.Sqrt(sum / frames[t].Length);
        }
        return total / (frames.Length - 1);
    }

    /// <summary>Frechet distance between Gaussians fitted to two sets of frames: |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2).</summary>
    public static double Frechet(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b)
    {
        var (muA, covA) = Gaussian(a);
        var (muB, covB) = Gaussian(b);
        int d = muA.Length;
        double meanTerm = 0;
        for (int i = 0; i < d; i++) meanTerm += (muA[i] - muB[i]) * (muA[i] - muB[i]);
        using var scope = NewDisposeScope();
        var sa = tensor(covA, [d, d], ScalarType.Float64);
        var sb = tensor(covB, [d, d], ScalarType.Float64);
        // tr((Sa Sb)^1/2) = sum of square roots of the eigenvalues of Sa^1/2 Sb Sa^1/2 (symmetric, positive semi-definite).
        using TorchSharp.Scalar zero = 0.0; // held: TorchSharp does not keep temporary scalars alive during the call
        var (values, vectors) = linalg.eigh(sa);
        var rootA = matmul(vectors * values.clamp_min(zero).sqrt().unsqueeze(0), vectors.t());
        var inner = matmul(matmul(rootA, sb), rootA);
        var innerValues = linalg.eigvalsh(inner).clamp_min(zero).sqrt();
        double traceRoot = innerValues.sum().item<double>();
        double trace = sa.trace().item<double>() + sb.trace().item<double>();
        return Math.Max(0, meanTerm + trace - 2 * traceRoot);
    }

    /// <summary>
    /// Frechet distance of generated frames to the reference, divided by that between two disjoint halves of the
    /// reference (first and second half of its frames). Target: at most 3.
    /// </summary>
    public static double FrechetRatio(float[][] generated, float[][] reference)
    {
        int half = reference.Length / 2;
        double baseline = Frechet(reference[..half], reference[half..]);
        return Frechet(generated, reference) / Math.Max(baseline, 1e-12);
    }

    /// <summary>Generations from two seeds compared as the seeds themselves are: FD(genA, genB) / FD(seedA, seedB). Target: at least 0.3.</summary>
    public static double SeedSensitivity(float[][] fromSeedA, float[][] fromSeedB, float[][] seedA, float[][] seedB) =>
        Frechet(fromSeedA, fromSeedB) / Math.Max(Frechet(seedA, seedB), 1e-12);

    /// <summary>Standard deviation of the RMS level (dB) over consecutive 1-second windows of the mono mix.</summary>
    public static double LoudnessMovement(AudioClip clip) => LoudnessMovement(Prepare(clip));

    private static double LoudnessMovement(ReadOnlySpan<float> mono)
    {
        int windows = mono.Length / SampleRate;
        if (windows < 2) return 0;
        var levels = new double[windows];
        for (int w = 0; w < windows; w++)
        {
            double sum = 0;
            foreach (float x in mono.Slice(w * SampleRate, SampleRate)) sum += (double)x * x;
            levels[w] = 10 * Math.Log10(sum / SampleRate + 1e-12);
        }
        double mean = levels.Average();
        return Math.Sqrt(levels.Average(l => (l - mean) * (l - mean)));
    }

    /// <summary>
    /// Loudness movement of generated clips divided by that of the reference cut into clips as long as the generated
    /// ones (whole tracks move more than excerpts). Target: 0.5 to 2.
    /// </summary>
    public static double LoudnessMovementRatio(IReadOnlyList<AudioClip> generated, IReadOnlyList<AudioClip> reference) =>
        generated.Average(LoudnessMovement) / ExcerptLoudnessMovement(reference, generated.Average(g => g.Seconds));

    /// <summary>
    /// Measure 3's denominator: the mean loudness movement of the reference cut into clips of <paramref name="seconds"/>
    /// (at least 1e-12).
    /// </summary>
    public static double ExcerptLoudnessMovement(IReadOnlyList<AudioClip> reference, double seconds)
    {
        int length = (int)Math.Round(seconds * SampleRate);
        var excerpts = new List<double>();
        foreach (var r in reference)
        {
            var mono = Prepare(r);
            for (int start = 0; start + length <= mono.Length; start += length) excerpts.Add(LoudnessMovement(mono.AsSpan(start, length)));
        }
        if (excerpts.Count == 0) throw new ArgumentException("The reference audio is shorter than the generated clips.", nameof(reference));
        return Math.Max(excerpts.Average(), 1e-12);
    }

    /// <summary>
    /// Spectral flatness (geometric over arithmetic mean of the power spectrum, STFT 2048 / 512 / Hann) per frame,
    /// median over the louder 80% of frames. Music sits around 1e-4 to 3e-3, noise near 0.2.
    /// </summary>
    public static double Tonality(AudioClip clip)
    {
        var mono = Prepare(clip);
        if (mono.Length < FrameSize) return 0;
        using var scope = NewDisposeScope();
        var power = stft(Tensors.Wrap(mono, mono.Length), FrameSize, Hop, window: hann_window(FrameSize), center: false, return_complex: true)
            .abs().Squared().to(ScalarType.Float64);                                       // [B, F]
        using TorchSharp.Scalar tiny = 1e-20;
        var geometric = power.Plus(tiny).log().mean([0L]).exp();
        var arithmetic = power.mean([0L]);
        var flatness = Tensors.ToArray(geometric.div(arithmetic.Plus(tiny)).to(ScalarType.Float32));
        var energy = Tensors.ToArray(arithmetic.to(ScalarType.Float32));
        var order = Enumerable.Range(0, energy.Length).OrderByDescending(i => energy[i]).Take(Math.Max(1, (int)(energy.Length * 0.8)));
        var loud = order.Select(i => (double)flatness[i]).Order().ToArray();
        return loud[loud.Length / 2];
    }

    /// <summary>Geometric mean of tonality over generated clips divided by that over reference clips. Target: 0.05 to 20.</summary>
    public static double TonalityRatio(IReadOnlyList<AudioClip> generated, IReadOnlyList<AudioClip> reference) =>
        GeometricMean(generated.Select(Tonality)) / GeometricMean(reference.Select(Tonality));

    /// <summary>The geometric mean of clips' <see cref="Tonality"/> values (each at least 1e-30), as measure 7 takes it over a set.</summary>
    public static double GeometricMean(IEnumerable<double> tonalities) => Math.Exp(tonalities.Average(v => Math.Log(Math.Max(v, 1e-30))));

    /// <summary>Log-mel frames per second (22050 / 512).</summary>
    public const double FramesPerSecond = (double)SampleRate / Hop;

    /// <summary>Frames in a 1-second copy-rate window (43).</summary>
    public const int WindowFrames = 43;

    /// <summary>Hop of the generated and held-out copy-rate windows in frames (22, 0.51 s).</summary>
    public const int WindowHop = 22;

    /// <summary>Hop of the training windows searched, in frames: a divisor of <see cref="WindowHop"/>, so that an exact excerpt of the training audio is found exactly.</summary>
    public const int TrainingWindowHop = 2;

    /// <summary>
    /// 1-second windows of log-mel frames (43 frames of 64 bands, flattened), every <paramref name="hop"/> frames.
    /// </summary>
    public static List<float[]> Windows(float[][] frames, int hop = WindowHop)
    {
        var windows = new List<float[]>();
        for (int start = 0; start + WindowFrames <= frames.Length; start += hop)
        {
            var w = new float[WindowFrames * Bands];
            for (int f = 0; f < WindowFrames; f++) frames[start + f].CopyTo(w, f * Bands);
            windows.Add(w);
        }
        return windows;
    }

    /// <summary>For each window of <paramref name="queries"/>, the Euclidean distance to its nearest window in <paramref name="training"/>.</summary>
    public static double[] NearestDistances(IReadOnlyList<float[]> queries, IReadOnlyList<float[]> training)
    {
        if (training.Count == 0) throw new ArgumentException("There are no training windows to search.", nameof(training));
        var result = new double[queries.Count];
        if (queries.Count == 0) return result;
        int dim = training[0].Length;
        using var scope = NewDisposeScope();
        // Candidates by float32 distances (|q|^2 + |t|^2 - 2 q.t), then the exact distance to the best few in float64:
        // the expansion loses the small distances of near-copies to rounding.
        var t = Tensors.Wrap(training.SelectMany(w => w).ToArray(), training.Count, dim);
        var tNorms = t.Squared().sum(1L);
        using TorchSharp.Scalar minusTwo = -2;
        const int chunk = 256;
        int candidates = Math.Min(8, training.Count);
        for (int start = 0; start < queries.Count; start += chunk)
        {
            using var step = NewDisposeScope();
            int n = Math.Min(chunk, queries.Count - start);
            var q = Tensors.Wrap(queries.Skip(start).Take(n).SelectMany(w => w).ToArray(), n, dim);
            var approximate = matmul(q, t.t()).mul(minusTwo).Plus(tNorms.unsqueeze(0)).Plus(q.Squared().sum(1L).unsqueeze(1));
            var best = approximate.topk(candidates, 1, largest: false).indexes;                     // [n, c]
            var exact = t.index_select(0, best.reshape(-1)).reshape(n, candidates, dim).to(ScalarType.Float64)
                .Minus(q.to(ScalarType.Float64).unsqueeze(1)).Squared().sum(2L).min(1L).values.sqrt();
            exact.data<double>().ToArray().CopyTo(result, start);
        }
        return result;
    }

    /// <summary>
    /// Copy rate: the share of generated windows whose nearest training window is closer than
    /// <paramref name="threshold"/> (the 1st percentile of held-out windows' nearest-training distances, see
    /// <see cref="CopyThreshold"/>). Target: at most 0.15.
    /// </summary>
    public static double CopyRate(IReadOnlyList<float[]> generatedWindows, IReadOnlyList<float[]> trainingWindows, double threshold) =>
        CopyRate(NearestDistances(generatedWindows, trainingWindows), threshold);

    /// <summary>The copy rate from generated windows' <see cref="NearestDistances"/> (NaN with none).</summary>
    public static double CopyRate(IReadOnlyCollection<double> nearestDistances, double threshold) =>
        nearestDistances.Count == 0 ? double.NaN : nearestDistances.Count(d => d < threshold) / (double)nearestDistances.Count;

    /// <summary>The 1st percentile (linear interpolation) of held-out windows' nearest-training distances.</summary>
    public static double CopyThreshold(IReadOnlyList<float[]> heldOutWindows, IReadOnlyList<float[]> trainingWindows)
    {
        var sorted = NearestDistances(heldOutWindows, trainingWindows).Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("The held-out audio is shorter than one window.", nameof(heldOutWindows));
        double at = 0.01 * (sorted.Length - 1);
        int low = (int)Math.Floor(at);
        return sorted[low] + (sorted[Math.Min(low + 1, sorted.Length - 1)] - sorted[low]) * (at - low);
    }

    /// <summary>
    /// A distance between two sets over the same distance for real audio: measure 8 (Basic Pitch FAD ratio) with
    /// <paramref name="compared"/> the generated takes' embeddings, measure 9 (codec transparency) with the reference
    /// passed through the model's analysis and resynthesis; <paramref name="real"/> is real held-out audio (the seeds
    /// cut into pieces as long as the takes) and <paramref name="reference"/> the reference, all as frames of embeddings.
    /// </summary>
    public static double FrechetOverReal(IReadOnlyList<float[]> compared, IReadOnlyList<float[]> real, IReadOnlyList<float[]> reference) =>
        Frechet(compared, reference) / Frechet(real, reference);

    /// <summary>Seconds of audio in one pulse window.</summary>
    public const double PulseWindowSeconds = 10;

    /// <summary>The shortest and longest beat periods a pulse is looked for at, in seconds.</summary>
    public static (double Shortest, double Longest) PulsePeriods => (0.25, 2);

    /// <summary>
    /// Onset envelope of log-mel frames: per frame, the mean over bands of the half-wave rectified rise from the
    /// frame before (the first frame has none).
    /// </summary>
    public static double[] OnsetEnvelope(float[][] frames) =>
        frames.Length == 0 ? [] : Onsets.Envelope(frames.SelectMany(f => f).ToArray(), frames[0].Length);

    /// <summary>
    /// Pulse strength of each whole 10-second window of an onset envelope: the window's mean is removed, and the
    /// highest autocorrelation at lags of 0.25 to 2 s, over the autocorrelation at lag 0, is the window's figure.
    /// Steady beats score 0.5-0.8, beatless jumble about 0.1; a silent window scores 0.
    /// </summary>
    public static List<double> PulseStrengths(double[] envelope)
    {
        int window = (int)Math.Round(PulseWindowSeconds * FramesPerSecond);
        int shortest = (int)Math.Round(PulsePeriods.Shortest * FramesPerSecond), longest = (int)Math.Round(PulsePeriods.Longest * FramesPerSecond);
        var strengths = new List<double>();
        for (int start = 0; start + window <= envelope.Length; start += window)
            strengths.Add(Onsets.StrongestPeriod(envelope.AsSpan(start, window), shortest, longest).Strength);
        return strengths;
    }

    /// <summary>Mean pulse strength over every 10-second window of every clip (NaN when no clip has a whole window).</summary>
    public static double Pulse(IEnumerable<AudioClip> clips) => MeanPulse(clips.Select(c => PulseStrengths(OnsetEnvelope(LogMel(c)))));

    /// <summary>The mean of clips' <see cref="PulseStrengths"/>, every window of every clip (NaN with no window).</summary>
    public static double MeanPulse(IEnumerable<IReadOnlyList<double>> strengths)
    {
        var all = strengths.SelectMany(s => s).ToList();
        return all.Count == 0 ? double.NaN : all.Average();
    }

    /// <summary>Measure 10, the pulse ratio: <see cref="Pulse"/> of the generated clips over that of the reference. Target: 0.6 to 1.5.</summary>
    public static double PulseRatio(IReadOnlyList<AudioClip> generated, IReadOnlyList<AudioClip> reference) => Pulse(generated) / Pulse(reference);

    /// <summary>
    /// Up to <paramref name="count"/> consecutive pieces of <paramref name="seconds"/> from the start of each clip: the
    /// real audio that measure 8 compares the takes against (the seeds cut into pieces as long as the takes).
    /// </summary>
    public static List<AudioClip> Excerpts(IEnumerable<AudioClip> clips, double seconds, int count)
    {
        var pieces = new List<AudioClip>();
        foreach (var clip in clips)
        {
            int length = (int)Math.Round(seconds * clip.SampleRate);
            for (int k = 0; k < count && (k + 1) * length <= clip.Length; k++)
                pieces.Add(new AudioClip(clip.SampleRate, clip.Channels.Select(c => c.AsSpan(k * length, length).ToArray()).ToArray()));
        }
        return pieces;
    }

    /// <summary>The mono mix of a clip at <see cref="SampleRate"/>, as every measure reads it.</summary>
    internal static float[] Prepare(AudioClip clip)
    {
        var mono = clip.WithChannels(1);
        if (mono.SampleRate != SampleRate) mono = new Resampler(mono.SampleRate, SampleRate).Process(mono);
        return mono.Channels[0];
    }

    private static (double[] Mean, double[] Covariance) Gaussian(IReadOnlyList<float[]> frames)
    {
        if (frames.Count < 2) throw new ArgumentException("At least two frames are needed to fit a Gaussian.", nameof(frames));
        int d = frames[0].Length;
        var mean = new double[d];
        foreach (var f in frames)
            for (int i = 0; i < d; i++) mean[i] += f[i];
        for (int i = 0; i < d; i++) mean[i] /= frames.Count;
        var cov = new double[d * d];
        var centred = new double[d];
        foreach (var f in frames)
        {
            for (int i = 0; i < d; i++) centred[i] = f[i] - mean[i];
            for (int i = 0; i < d; i++)
                for (int j = i; j < d; j++) cov[i * d + j] += centred[i] * centred[j];
        }
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++)
                cov[j * d + i] = cov[i * d + j] /= frames.Count - 1;
        return (mean, cov);
    }
}
