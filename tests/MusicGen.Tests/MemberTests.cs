using MusicGen.Estimators.Tokens;
using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Tokens;
using System.Numerics.Tensors;
using static TorchSharp.torch;

namespace MusicGen.Tests;

/// <summary>
/// A token's members (<see cref="Codebook.Member"/>): real training frames of the token, kept and saved with the
/// codebook, and chosen when rendering so that the partials before a change of token go on after it.
/// </summary>
public class MemberTests
{
    private const int Rate = 8000, FrameSize = 256, Bins = FrameSize / 2 + 1;
    private static readonly int[] Pitches = [62, 67, 72]; // bins of a tone within one wide mel band of the codebook's 16

    /// <summary>
    /// 600 frames: quiet frames, each a tone at one of three pitches over a noise floor, between loud noise frames, so
    /// that two tokens split them by loudness and the quiet token's frames play three different notes.
    /// </summary>
    private static float[] Music(out int[] pitchOf)
    {
        var rng = new Random(11);
        var frames = new float[600 * Bins];
        pitchOf = new int[600];
        for (int t = 0; t < 600; t++)
        {
            bool loud = t % 10 >= 7;
            pitchOf[t] = loud ? -1 : Pitches[t / 10 % 3];
            for (int i = 0; i < Bins; i++)
            {
                float floor = (loud ? -1f : -6f) + 0.3f * (float)rng.NextDouble();
                float tone = loud ? float.NegativeInfinity : -(i - pitchOf[t]) * (i - pitchOf[t]);
                frames[t * Bins + i] = Math.Max(floor, tone);
            }
        }
        return frames;
    }

    private static Codebook Fit(float[] music, int members) => CodebookFitting.Fit([music], Bins, Rate, tokenCount: 2, bands: 16, members: members);

    /// <summary>The loudest bin around the tones.</summary>
    private static int Peak(ReadOnlySpan<float> frame) => 50 + TensorPrimitives.IndexOfMax(frame[50..90]);

    [Fact]
    public void Members_are_training_frames_of_their_token_with_the_medoid_first_and_save_and_load_unchanged()
    {
        var music = Music(out _);
        var codebook = Fit(music, members: 6);
        Assert.Equal(6, codebook.MembersPerToken);
        var tokens = codebook.Encode(music);
        for (int k = 0; k < 2; k++)
        {
            Assert.Equal(codebook.Decode([k]), codebook.Member(k, 0).ToArray());
            for (int m = 1; m < 6; m++)
            {
                var member = codebook.Member(k, m).ToArray();
                // Kept at half precision: within 0.01 of the training frame it was drawn from, which has its token.
                int from = Enumerable.Range(0, 600).First(t => Enumerable.Range(0, Bins).All(i => Math.Abs(music[t * Bins + i] - member[i]) < 0.01));
                Assert.Equal(k, tokens[from]);
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => codebook.Member(0, 6).ToArray());

        var stream = new MemoryStream();
        codebook.Save(new BinaryWriter(stream));
        stream.Position = 0;
        var loaded = Codebook.Load(new BinaryReader(stream));
        Assert.Equal(6, loaded.MembersPerToken);
        for (int k = 0; k < 2; k++)
            for (int m = 0; m < 6; m++) Assert.Equal(codebook.Member(k, m).ToArray(), loaded.Member(k, m).ToArray());
        Assert.Equal(stream.Length, stream.Position);
    }

    [Fact]
    public void A_codebook_of_one_member_a_token_keeps_only_its_medoids()
    {
        var codebook = Fit(Music(out _), members: 1);
        Assert.Equal(1, codebook.MembersPerToken);
        Assert.Equal(codebook.Decode([1]), codebook.Member(1, 0).ToArray());
    }

    [Fact]
    public void A_change_of_token_plays_the_member_that_continues_the_note_before_it_and_a_held_token_keeps_it()
    {
        var music = Music(out var pitchOf);
        var codebook = Fit(music, members: 8);
        int quiet = codebook.EncodeFrame(music.AsSpan(0, Bins)), loud = 1 - quiet;
        // The draw holds every pitch among the quiet token's members (this test's premise).
        var memberPitches = Enumerable.Range(0, 8).Select(m => Peak(codebook.Member(quiet, m))).ToHashSet();
        Assert.Superset(memberPitches, Pitches.ToHashSet());

        manual_seed(5);
        using var network = new EnvelopeFitting.EnvelopeNetwork(2, 4, 96, 8);
        var envelope = network.ToEnvelope(codebook, new MelEnvelope(96, FrameSize, Rate, binFloored: true));
        int[] tokens = [quiet, quiet, quiet, loud];
        var residuals = new float[tokens.Length * 96]; // no reshaping: each frame plays its member as it is
        foreach (int pitch in Pitches)
        {
            int t = Array.IndexOf(pitchOf, pitch);
            var before = envelope.Envelope.Energies(music.AsSpan(t * Bins, Bins));
            var frames = envelope.Render(tokens, residuals, capped: false, before: before);
            Assert.Equal(pitch, Peak(frames.AsSpan(0, Bins)));
            Assert.Equal(frames.AsSpan(0, Bins).ToArray(), frames.AsSpan(2 * Bins, Bins).ToArray());
        }
        // Without a frame before, every frame plays its token's medoid, as before members.
        Assert.Equal(envelope.Render(tokens, residuals, capped: false).AsSpan(0, Bins).ToArray(), codebook.Decode([quiet]));
    }
}
