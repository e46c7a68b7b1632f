using Microsoft.ML;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Model;
using static TorchSharp.torch;

namespace MusicGen;

/// <summary>Options of <see cref="MusicGenerator.Generate(string, GenerationOptions?)"/>.</summary>
public sealed class GenerationOptions
{
    /// <summary>Seconds of new audio to generate. Default 20.</summary>
    public double Seconds { get; set; } = 20;
    /// <summary>Where in the seed file priming starts, in seconds. Default 0.</summary>
    public double SeedOffsetSeconds { get; set; }
    /// <summary>Seconds of the seed used to prime the network's state; 0 uses all of it from the offset. Default 10.</summary>
    public double PrimeSeconds { get; set; } = 10;
    /// <summary>Seed of torch's random generator. Default 1.</summary>
    public int RandomSeed { get; set; } = 1;

    internal void Validate()
    {
        var problems = new List<string>();
        if (!(Seconds > 0) || !double.IsFinite(Seconds)) problems.Add($"Seconds must be positive, not {Seconds}.");
        if (!(SeedOffsetSeconds >= 0) || !double.IsFinite(SeedOffsetSeconds)) problems.Add($"SeedOffsetSeconds must be 0 or more, not {SeedOffsetSeconds}.");
        if (!(PrimeSeconds >= 0) || !double.IsFinite(PrimeSeconds)) problems.Add($"PrimeSeconds must be 0 (all) or more, not {PrimeSeconds}.");
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
    }
}

/// <summary>
/// Continues a seed song with a fitted pipeline: primes the LSTM's state with the seed's frames, feeds each prediction
/// back as the next input, and turns the predicted frames back into audio at the model's sample rate and channels.
/// Deterministic: the same model, seed file and options give the same samples.
/// </summary>
public sealed class MusicGenerator
{
    private readonly AudioLoadingTransformer loader;
    private readonly FftVectorizingTransformer vectorizer;
    private readonly LstmForecastingTransformer network;
    private readonly FeatureNormalizingTransformer? normalizer;

    /// <summary>Finds the loading, vectorizing and LSTM stages in a fitted (or loaded) pipeline.</summary>
    /// <exception cref="ArgumentException">The pipeline lacks one of those stages.</exception>
    public MusicGenerator(ITransformer model)
    {
        var stages = ModelFile.Stages(model).ToList();
        loader = stages.OfType<AudioLoadingTransformer>().FirstOrDefault()
            ?? throw new ArgumentException("The pipeline has no audio-loading stage (LoadAudio).", nameof(model));
        vectorizer = stages.OfType<FftVectorizingTransformer>().FirstOrDefault()
            ?? throw new ArgumentException("The pipeline has no vectorizing stage (VectorizeFft).", nameof(model));
        normalizer = stages.OfType<FeatureNormalizingTransformer>().FirstOrDefault();
        network = stages.OfType<LstmForecastingTransformer>().FirstOrDefault()
            ?? throw new ArgumentException("The pipeline has no LSTM stage (PredictNextFrame).", nameof(model));
        if (network.FeatureSize != vectorizer.FeatureSize)
            throw new ArgumentException($"The LSTM expects {network.FeatureSize} values per frame but the vectorizer gives {vectorizer.FeatureSize}.", nameof(model));
    }

    /// <summary>The model's sample rate.</summary>
    public int SampleRate => loader.SampleRate;

    /// <summary>The model's channel count.</summary>
    public int Channels => loader.Channels;

    /// <summary>Frames per second of audio.</summary>
    public double FramesPerSecond => vectorizer.FramesPerSecond;

    /// <summary>Generates new audio that continues <paramref name="seedPath"/>.</summary>
    /// <exception cref="InvalidDataException">The seed cannot be read, or is too short to prime from.</exception>
    public AudioClip Generate(string seedPath, GenerationOptions? options = null)
    {
        options ??= new GenerationOptions();
        options.Validate();
        var seed = loader.Load(seedPath);
        int frameSize = vectorizer.Settings.FrameSize;
        int start = (int)Math.Min(Math.Round(options.SeedOffsetSeconds * SampleRate), seed.Length);
        int available = seed.Length - start;
        int primeSamples = options.PrimeSeconds == 0 ? available : (int)Math.Min(Math.Round(options.PrimeSeconds * SampleRate), available);
        if (primeSamples < frameSize)
            throw new InvalidDataException($"{Path.GetFileName(seedPath)}: too short to prime from after {options.SeedOffsetSeconds} s (need at least {frameSize} samples, one frame)");
        var prime = seed.Channels.Select(c => c.AsSpan(start, primeSamples).ToArray()).ToArray();
        var primeFrames = vectorizer.Vectorize(prime);
        if (primeFrames.Length == 0)
            throw new InvalidDataException($"{Path.GetFileName(seedPath)}: too short to prime from (no whole frame after {options.SeedOffsetSeconds} s)");
        normalizer?.Normalize(primeFrames);

        manual_seed(options.RandomSeed);
        using var oneDnnOff = OneDnn.Scope(enabled: false); // batch-1 steps run several times faster without it
        int dim = vectorizer.FeatureSize;
        int count = (int)Math.Ceiling(options.Seconds * FramesPerSecond) + 1; // + 1: centred STFT frames span one hop less
        var generated = new float[(long)count * dim];
        var (predictions, state) = network.Run(primeFrames, 1, null);
        try
        {
            var frame = predictions.AsSpan(predictions.Length - dim, dim).ToArray();
            for (int i = 0; i < count; i++)
            {
                frame.CopyTo(generated, (long)i * dim);
                if (i == count - 1) break;
                var (next, nextState) = network.Run(frame, 1, state);
                state.Dispose();
                state = nextState;
                frame = next;
            }
        }
        finally
        {
            state.Dispose();
        }
        normalizer?.Denormalize(generated);
        var samples = vectorizer.Invert(generated, options.RandomSeed);
        int length = (int)Math.Round(options.Seconds * SampleRate);
        return new AudioClip(SampleRate, samples.Select(c => c.AsSpan(0, Math.Min(length, c.Length)).ToArray()).ToArray());
    }

    /// <summary>
    /// A file passed through the model's own analysis and resynthesis without the LSTM (loading, features, normalisation
    /// and back): what the representation can hold.
    /// </summary>
    public AudioClip Reconstruct(string path, int randomSeed = 1)
    {
        var clip = loader.Load(path);
        var frames = vectorizer.Vectorize(clip.Channels);
        if (normalizer is not null)
        {
            normalizer.Normalize(frames);
            normalizer.Denormalize(frames);
        }
        var samples = vectorizer.Invert(frames, randomSeed);
        int length = Math.Min(clip.Length, samples[0].Length);
        return new AudioClip(SampleRate, samples.Select(c => c.AsSpan(0, length).ToArray()).ToArray());
    }

    /// <summary>Generates and writes a WAV file (written to a temporary file, then renamed).</summary>
    public AudioClip GenerateToFile(string seedPath, string outputPath, GenerationOptions? options = null, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        if (Path.GetFullPath(outputPath) == Path.GetFullPath(seedPath))
            throw new ArgumentException($"{outputPath}: the output would overwrite the seed file.", nameof(outputPath));
        var clip = Generate(seedPath, options);
        WavWriter.Write(outputPath, clip, format);
        return clip;
    }
}
