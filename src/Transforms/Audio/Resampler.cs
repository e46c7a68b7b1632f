using System.Numerics.Tensors;

namespace MusicGen.Transforms.Audio;

/// <summary>
/// Band-limited sample-rate conversion: a polyphase windowed-sinc filter (Kaiser window) for the rational ratio
/// out/in reduced by their greatest common divisor. The cutoff sits at <c>rolloff</c> times the lower Nyquist
/// frequency, so nothing above the output's Nyquist folds back (downsampling) and no images appear (upsampling).
/// Each phase is normalised to unit gain at DC. Input beyond the signal's ends is taken as silence.
/// With the defaults a 1 kHz tone keeps its level within 0.0001 dB through 48000 -> 44100 -> 48000, the strongest other
/// component is 123 dB down, and a 23 kHz tone taken from 48 to 44.1 kHz comes out 115 dB down (ResamplerTests).
/// </summary>
public sealed class Resampler
{
    private const int MaxPhases = 4096;
    private readonly float[] table; // [phase][tap]
    private readonly int phases;
    private readonly int taps;
    private readonly int up;
    private readonly int down;

    /// <summary>Precomputes the filter for converting <paramref name="inputRate"/> to <paramref name="outputRate"/>.</summary>
    /// <param name="inputRate">Input sample rate, Hz.</param>
    /// <param name="outputRate">Output sample rate, Hz.</param>
    /// <param name="zeroCrossings">Half length of the filter in zero crossings of its sinc.</param>
    /// <param name="rolloff">Cutoff as a fraction of the lower Nyquist frequency.</param>
    /// <param name="kaiserBeta">Kaiser window shape (10: about -100 dB stopband).</param>
    public Resampler(int inputRate, int outputRate, int zeroCrossings = 48, double rolloff = 0.92, double kaiserBeta = 10)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputRate);
        InputRate = inputRate;
        OutputRate = outputRate;
        int g = Gcd(inputRate, outputRate);
        up = outputRate / g;
        down = inputRate / g;
        phases = Math.Min(up, MaxPhases); // rates with a huge common multiple use the nearest of 4096 phases
        double cutoff = Math.Min(1.0, (double)outputRate / inputRate) * rolloff; // fraction of the input Nyquist
        double halfWidth = zeroCrossings / cutoff;                                // in input samples
        int half = (int)Math.Ceiling(halfWidth);
        taps = 2 * half;
        table = new float[phases * taps];
        double i0Beta = BesselI0(kaiserBeta);
        for (int p = 0; p < phases; p++)
        {
            double frac = (double)p / phases;
            double sum = 0;
            var row = new double[taps];
            for (int j = 0; j < taps; j++)
            {
                double t = j - (half - 1) - frac; // input sample offset relative to the output instant
                double x = t / halfWidth;
                double w = Math.Abs(x) >= 1 ? 0 : BesselI0(kaiserBeta * Math.Sqrt(1 - x * x)) / i0Beta;
                double s = t == 0 ? 1 : Math.Sin(Math.PI * cutoff * t) / (Math.PI * cutoff * t);
                row[j] = cutoff * s * w;
                sum += row[j];
            }
            for (int j = 0; j < taps; j++) table[p * taps + j] = (float)(row[j] / sum);
        }
    }

    /// <summary>Input sample rate.</summary>
    public int InputRate { get; }

    /// <summary>Output sample rate.</summary>
    public int OutputRate { get; }

    /// <summary>Output samples for <paramref name="inputLength"/> input samples.</summary>
    public int OutputLength(int inputLength) => (int)(((long)inputLength * up + down - 1) / down);

    /// <summary>Converts one channel.</summary>
    public float[] Process(ReadOnlySpan<float> input)
    {
        if (up == down) return input.ToArray();
        int half = taps / 2;
        var padded = new float[input.Length + 2 * taps];
        input.CopyTo(padded.AsSpan(taps));
        var output = new float[OutputLength(input.Length)];
        for (int n = 0; n < output.Length; n++)
        {
            long position = (long)n * down;           // output instant in units of 1/up input samples
            long baseIndex = position / up;
            long remainder = position % up;
            int phase = phases == up ? (int)remainder : (int)Math.Round((double)remainder / up * phases) % phases;
            if (phases != up && remainder != 0 && phase == 0 && remainder * 2 > up) baseIndex++;
            int start = (int)(baseIndex - (half - 1) + taps);
            output[n] = TensorPrimitives.Dot(padded.AsSpan(start, taps), table.AsSpan(phase * taps, taps));
        }
        return output;
    }

    /// <summary>Converts every channel of a clip; returns the clip itself when the rates match.</summary>
    public AudioClip Process(AudioClip clip)
    {
        if (clip.SampleRate != InputRate)
            throw new ArgumentException($"The clip is at {clip.SampleRate} Hz; this resampler converts from {InputRate} Hz.", nameof(clip));
        if (InputRate == OutputRate) return clip;
        return new AudioClip(OutputRate, clip.Channels.Select(c => Process(c)).ToArray(), clip.Warning) { Encoding = clip.Encoding };
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    /// <summary>Modified Bessel function of the first kind, order 0 (power series).</summary>
    private static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (int k = 1; k < 200 && term > 1e-20 * sum; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
        }
        return sum;
    }
}
