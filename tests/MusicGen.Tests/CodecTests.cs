using Microsoft.ML;
using MusicGen.Evaluation;
using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

/// <summary>
/// The default preset's codec (tokens and back, no LSTM: <see cref="MusicGenerator.Reconstruct(string, int, int)"/>) keeps
/// what music is made of: the notes of a chord sequence and the pulse of a steady beat.
/// </summary>
public class CodecTests
{
    private const int Rate = 22050;

    // C major, F major, G major, A minor (4th octave), one second each.
    private static readonly double[][] Chords = [[261.63, 329.63, 392.00], [349.23, 440.00, 523.25], [392.00, 493.88, 587.33], [440.00, 523.25, 659.25]];
    private static readonly double[] Notes = [261.63, 293.66, 329.63, 349.23, 392.00, 440.00, 493.88, 523.25, 587.33, 659.25];

    private static AudioClip ChordSequence(double seconds)
    {
        var samples = new float[(int)(Rate * seconds)];
        for (int i = 0; i < samples.Length; i++)
        {
            double t = (double)i / Rate;
            var chord = Chords[(int)t % Chords.Length];
            samples[i] = (float)chord.Sum(f => 0.15 * Math.Sin(2 * Math.PI * f * t));
        }
        return new AudioClip(Rate, [samples]);
    }

    /// <summary>Decaying noise bursts every half second over a quiet low tone.</summary>
    private static AudioClip Beat(double seconds)
    {
        var random = new Random(3);
        var samples = new float[(int)(Rate * seconds)];
        for (int i = 0; i < samples.Length; i++)
        {
            double t = (double)i / Rate;
            samples[i] = (float)((random.NextDouble() - 0.5) * Math.Exp(-(t % 0.5) * 60) + 0.05 * Math.Sin(2 * Math.PI * 110 * t));
        }
        return new AudioClip(Rate, [samples]);
    }

    private static MusicGenerator Codec(TempFolder temp, out string chords, out string beat)
    {
        string songs = temp.Sub("songs");
        chords = Path.Combine(songs, "chords.wav");
        beat = Path.Combine(songs, "beat.wav");
        WavWriter.Write(chords, ChordSequence(16));
        WavWriter.Write(beat, Beat(21));
        var ml = new MLContext(seed: 1);
        var model = ml.Transforms.TokenModel(PipelineSettings.TokenModel() with
        {
            Epochs = 1, Layers = 1, HiddenSize = 16, EmbeddingSize = 8, TokenCount = 48, BatchSize = 2, SequenceLength = 16, ValidationFraction = 0, EarlyStoppingPatience = 0,
            EnvelopeSteps = 10, // reconstructing reads each frame's own envelope; the envelope LSTM is not used
        }).Fit(ml.Data.LoadAudioFiles([songs]));
        return new MusicGenerator(model);
    }

    /// <summary>Energy of <paramref name="samples"/>[from, to) at <paramref name="frequency"/> (one DFT bin, Goertzel).</summary>
    private static double Energy(float[] samples, int from, int to, double frequency)
    {
        double w = 2 * Math.PI * frequency / Rate, coefficient = 2 * Math.Cos(w), s1 = 0, s2 = 0;
        for (int i = from; i < to; i++)
        {
            double s = samples[i] + coefficient * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    }

    [Fact]
    public void A_chord_sequence_keeps_its_note_changes_and_a_steady_beat_its_pulse_through_the_codec()
    {
        using var temp = new TempFolder();
        var codec = Codec(temp, out string chords, out string beat);

        var rebuilt = codec.Reconstruct(chords).Channels[0];
        for (int second = 1; second < 15; second++)
        {
            // The middle of each second, away from the chord changes: its three loudest notes are the chord's.
            int from = (int)((second + 0.2) * Rate), to = (int)((second + 0.8) * Rate);
            var loudest = Notes.OrderByDescending(f => Energy(rebuilt, from, to, f)).Take(3).Order().ToArray();
            Assert.Equal(Chords[second % Chords.Length], loudest);
        }

        var original = AudioFile.Read(beat);
        double pulse = QualityMetrics.PulseRatio([codec.Reconstruct(beat)], [original]);
        Assert.InRange(pulse, 0.6, 1.5);

        // More Griffin-Lim iterations bring the audio nearer the frames it was rebuilt from.
        var stages = codec.Stages;
        var frames = stages.Vectorizer.Vectorize(stages.Loader.Conform(AudioFile.Read(chords)).Channels);
        double Convergence(int iterations) => stages.Vectorizer.Spectral.SpectralConvergence(frames, codec.Reconstruct(chords, phaseIterations: iterations).Channels);
        Assert.True(Convergence(24) < Convergence(2) - 1, $"{Convergence(24):F1} dB with 24 iterations, {Convergence(2):F1} dB with 2");
        Assert.Throws<ArgumentException>(() => codec.Reconstruct(chords, phaseIterations: -1));
    }
}
