using Microsoft.ML;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.IO;
using static TorchSharp.torch;
using MusicGen.Transforms.Spectral;
using MusicGen.Transforms.Tokens;
using MusicGen.Transforms.Torch;

namespace MusicGen;

/// <summary>Options of <see cref="MusicGenerator.Generate(string, GenerationOptions?)"/>.</summary>
public sealed class GenerationOptions
{
    /// <summary>The longest generation asked for in one call: an hour.</summary>
    public const double MaxSeconds = 3600;

    /// <summary>Seconds of new audio to generate, at most <see cref="MaxSeconds"/>. Default 20.</summary>
    public double Seconds { get; set; } = 20;
    /// <summary>Where in the seed file priming starts, in seconds, or with <see cref="SkipQuietIntro"/> where it looks on from for the song's level. Default 0.</summary>
    public double SeedOffsetSeconds { get; set; }
    /// <summary>
    /// Start priming where the seed song first reaches its typical level from <see cref="SeedOffsetSeconds"/> on, past a
    /// quiet intro (<see cref="Transforms.Audio.QuietIntro"/>: the first 2 s window within 3 dB of the song's median
    /// window, with a whole prime after it; <see cref="MusicGenerator.PrimeStart"/> says where). Default true: primed on
    /// an intro's quiet pads, the takes had no beat to keep; on hyperrogue-music's laboratory of two songs' first 50 s it
    /// met every target in three training draws where priming from the start missed three (FAD ratio 2.38 to 0.75,
    /// pulse 0.53 to 0.69), and it moves no seed that is at its level from the start (docs/evaluation.md, "Past a quiet
    /// intro"). False primes from the offset whatever is there.
    /// </summary>
    public bool SkipQuietIntro { get; set; } = true;
    /// <summary>Seconds of the seed used to prime the network's state; 0 uses all of it from the offset. Default 10.</summary>
    public double PrimeSeconds { get; set; } = 10;
    /// <summary>Seed of the sampling (take k of a batch uses RandomSeed + k - 1) and of phase reconstruction. Default 1.</summary>
    public int RandomSeed { get; set; } = 1;
    /// <summary>
    /// Token models: divides the logits before sampling; below 1 is safer and more repetitive, above 1 wilder; 0 always
    /// takes the most likely token (deterministic). Default 0.9, chosen with beat guidance 32 on the collection it was
    /// tuned on: from another composer's seeds the FAD ratio went from 3.1 at 0.8 to 1.9 (6.4 at 0.7); from the
    /// collection's own seeds every target held on three training seeds but one seed's seed sensitivity (0.29 against
    /// 0.3); at 1.0 the takes stopped following their seed (docs/evaluation.md).
    /// </summary>
    public double Temperature { get; set; } = 0.9;
    /// <summary>
    /// Token models with a beat clock: how strongly sampling favours tokens whose onset fits the beat the clock reads in
    /// the seed and the take so far (0: sample the network's own distribution). The network's guide (the expected onset
    /// times the periodicity times each token's onset, in deviations) is multiplied by this and added to the logits, so
    /// that at a beat the tokens that rise become likelier and between beats the ones that hold, whatever their harmony,
    /// and the less periodic the music the less so. Default 16 (32 before the push was capped at onsets): with the cap,
    /// on hyperrogue-music's three laboratories in three training draws, every target held at 16 as at 32, the FAD
    /// ratio fell on average on all three (1.03 / 1.50 / 0.96 to 0.91 / 1.47 / 0.77) and the pulse rose on two and fell
    /// on one (0.69 / 0.81 / 0.83 to 0.74 / 0.88 / 0.75) (docs/evaluation.md, "Beat guidance 16"). Where the clock expects an
    /// onset the push is capped (<see cref="GuideCap"/>).
    /// </summary>
    public double BeatGuidance { get; set; } = 16;
    /// <summary>
    /// Token models: how strongly sampling favours the tokens the seed's primed excerpt plays: SeedPrior x ln(1 + n) is
    /// added to each token's logit, n the times the excerpt plays it, so that the take keeps the seed's sounds after the
    /// network's short memories of it have faded (0: none). Default 0: on both hyperrogue laboratories 0.5, 1 and 2
    /// raised the FAD ratio (hyperrogue 1.01 to 1.37-2.05, another composer's seeds 1.86 to 2.06-4.39) while seed
    /// sensitivity, already met, moved no more than it does between draws (docs/evaluation.md). Kept for a user who
    /// wants the take to stay closer to the seed's sounds.
    /// </summary>
    public double SeedPrior { get; set; }
    /// <summary>
    /// Token models: when the network changes sound, the chance that the next sound is drawn from what this song itself
    /// played after a change from the current sound (in the primed excerpt and the take so far; from the sounds it
    /// changed to at all, where it never left the current one) instead of from the network (0: never, 1: always where
    /// the song has such a change). Holding or changing stays the network's and the beat guide's choice; this only says
    /// which sound comes next, so the take keeps the seed's own progressions when the network, trained on other music,
    /// does not know them.
    /// </summary>
    public double SongMemory { get; set; }
    /// <summary>
    /// Token models: when the network changes sound, the share of the change that goes where the primed excerpt went
    /// from its own moments most like the take's current one, as the network itself hears them (its top layer's
    /// output: <see cref="SeedContexts"/>), instead of where the network would go (0: none, 1: all). Holding or changing
    /// stays the network's and the beat guide's choice. Default 0, an option left off: on the collection it was tuned
    /// on it raised seed sensitivity from every laboratory's seeds in every training draw, and cost Basic Pitch FAD
    /// on the training composer's seeds and on another composer's; on a collection never tuned on (singularity-music)
    /// 0.5 raised it from 0.29 to 0.92 (docs/evaluation.md, "Seed contexts").
    /// </summary>
    public double SeedContexts { get; set; }
    /// <summary>
    /// Token models: how far the network's in-song memory gains (how much it trusts what this song played so far: its
    /// recent-token caches, successor cache and beat clock) are fitted to the seed's primed excerpt before the takes
    /// continue it: the excerpt's mean next-token cross-entropy plus the gains' summed squared change over this is
    /// minimised, so that a seed that repeats its own sounds more than the training music did is followed further
    /// (0: the trained gains). The gains are put back afterwards; the model is not changed. Default 3: on the
    /// collection it was tuned on, with 6 takes a seed, seed sensitivity from the third composer's seeds (which the
    /// takes had ignored) went from 0.22 to 0.30 (0.59 at 3.3) and from the second's from 0.57 to 1.0, and every target
    /// of the collection's own seeds held (FAD ratio 0.86 to 0.71); 10 took the loudness movement past its target from
    /// both other composers' seeds (docs/evaluation.md).
    /// </summary>
    public double SeedAdaptation { get; set; } = 3;
    /// <summary>
    /// Token models: how far each token's bias is fitted to the seed's primed excerpt, with the memory gains (see
    /// <see cref="SeedAdaptation"/>): a shift of the logit of each token the excerpt plays, and one shared by all it does
    /// not, whose summed squares over this are added to the excerpt's cross-entropy. The seed's sounds that the network
    /// under-predicts are favoured for the whole take, as far as the excerpt bears out (0: the trained biases). The
    /// biases are put back afterwards. Default 10: on the collection it was tuned on, over three draws of 6 takes from
    /// its two other composers' seeds, 2 targets were missed against 5 without it (each figure moving within the draws'
    /// own spread: the second composer's FAD ratio 2.00 against 2.08 on average, the third's seed sensitivity 0.31
    /// against 0.33), and the FAD ratio from the collection's own seeds rose from 0.91 to 1.15, its target 2
    /// (docs/evaluation.md).
    /// </summary>
    public double SeedBias { get; set; } = 10;
    /// <summary>
    /// Token models: how quickly sampling steers each take's share of the seed's own sounds (the tokens its primed
    /// excerpt plays) toward the share with which the excerpt itself goes back to sounds it has played: a logit offset for
    /// all other tokens moves by this after every draw, down while the take plays fewer of the seed's sounds than that,
    /// up while it plays more (<see cref="SeedReuse"/>; 0: none).
    /// </summary>
    public double SeedReuse { get; set; }
    /// <summary>
    /// Token models: the share of the backoff's draws of other sounds that go to the primed excerpt's own sounds, in
    /// proportion to how often it plays them, instead of to the training music's frequencies (0: the training's; 1: the
    /// seed's alone). The backoff, "repeat the previous token, else a token by its frequency", is mixed into every step
    /// with the weight fitted on held-out music (<see cref="Transforms.Network.FrameLstm.BackoffWeight"/>), and its draws
    /// of training sounds pull takes from different seeds toward the same sounds. Default 0: on the hyperrogue
    /// laboratories 1 raised seed sensitivity from every composer's seeds and cost FAD from the second composer's, whose
    /// FAD then missed its target in each of three training draws (docs/evaluation.md).
    /// </summary>
    public double SeedBackoff { get; set; }
    /// <summary>
    /// Token models with an envelope channel: how far each take frame's envelope moves toward the shape across the bands
    /// of that of one of the primed excerpt's frames with the same token, at the level the envelope network predicts
    /// (0: none, 1: the seed frame's shape). The frame is the one after the frame the take
    /// followed before where that has the token, else the one nearest the envelope network's prediction; tokens the
    /// excerpt never played keep the prediction. The envelope network learned the training music's envelopes, so
    /// without this the takes from another composer's seed soon sound like the training music (see
    /// <see cref="Transforms.Tokens.SeedFrames"/>). Default 1: on the three hyperrogue laboratories, over three training
    /// draws, it met every target where 0 missed one and 0.5 three, and raised seed sensitivity on all three
    /// (docs/evaluation.md).
    /// </summary>
    public double SeedEnvelope { get; set; } = 1;
    /// <summary>
    /// Token models: how far each take's long-term tone colour and level move toward the seed's primed excerpt's (its
    /// song's with <see cref="SongTimbre"/>): the difference of their mean log energies on <see cref="TimbreMatch.Bands"/>
    /// broad mel bands, times this, is added to every frame of the take (0: none, 1: the take's mean balance is the
    /// seed's). Default 0.5: on the three hyperrogue laboratories, in two draws each, it raised seed sensitivity
    /// against 0.25 (the third composer's seeds 0.22 and 0.31 to 0.32 and 0.38, the second's 0.43 and 0.46 to 0.92 and
    /// 0.93) with every target met, the FAD ratio lower on the collection's own and the third composer's seeds and
    /// within 0.06 on the second's; 0.75 took the third's tonality ratio to the edge of its target (19.1) and 1 raised
    /// the Frechet and FAD ratios (docs/evaluation.md).
    /// </summary>
    public double SeedTimbre { get; set; } = 0.5;
    /// <summary>
    /// Token models: move each take's tone colour and level (<see cref="SeedTimbre"/>) toward the seed's whole song's
    /// balance, read from short excerpts spread over it (<see cref="Transforms.Audio.SongExcerpts"/>), rather than its
    /// primed excerpt's. A song that opens with a quiet or sparse intro then gives its takes the colour of how it goes
    /// on: on a hyperrogue-music laboratory whose seeds open so, it took the FAD ratio from 2.99 to 1.40 (mean of three
    /// training draws) and its Frechet ratio within target. Default false, an option left off: the takes from
    /// different seeds come nearer each other while their excerpts stay as far apart, so seed sensitivity fell by
    /// about half on every laboratory, and on singularity-music, never tuned on, below its target (0.40 to 0.18),
    /// with asc-music's FAD ratio up from 5.73 to 6.22 (docs/evaluation.md, "The seed song's tone colour").
    /// </summary>
    public bool SongTimbre { get; set; }
    /// <summary>
    /// Token models: how strongly each take keeps the seed's groove, the way the primed excerpt's level rises and falls
    /// within a beat (a period of 0.23-0.5 s): that pattern, continued in phase from the seed, times this, is added to
    /// every frame's level (0: none; 1: the seed's own depth; a primed excerpt under 1.5 s has no groove to keep).
    /// Default 1: with the seed dynamics on (which it follows), on hyperrogue-music's three laboratories it raised the
    /// pulse from another composer's seeds from 0.69 to 0.90 of the music's and lowered their FAD ratio from 1.84 to
    /// 1.62, left hyperrogue's within 0.02, cost the third composer's 0.05 of FAD and 0.06 of pulse, and kept every
    /// loudness movement within its target (1.18-1.63); without the seed dynamics it had taken those further off
    /// (docs/evaluation.md).
    /// </summary>
    public double SeedGroove { get; set; } = 1;
    /// <summary>
    /// Token models: how far each take's swells and drops follow the seed's: the take's level, smoothed over about a
    /// second, moves about its mean (seed's movement / take's) ^ SeedDynamics times as far as it did, within a factor of
    /// 4 either way (0: none; 1: as far as the seed's, see <see cref="ExcerptDynamics"/>; <see cref="DynamicsMatch"/>). Default 1: the takes
    /// passed between the training's loud and quiet passages within seconds, their level moving 1.4-2.8 times as much
    /// as the music's over 1 s windows; on hyperrogue-music's three laboratories 1 brought that to 1.2-1.6 (0.5: 1.1-1.9,
    /// 0.25: 1.2-2.1) with the same tokens; seed sensitivity fell by 0.06-0.09 (still met), the FAD ratio moved by
    /// 0.06 at most (docs/evaluation.md).
    /// </summary>
    public double SeedDynamics { get; set; } = 1;
    /// <summary>
    /// Token models: aim each take's swells and drops (<see cref="SeedDynamics"/>) at the primed excerpt's movement
    /// rather than at its song's. By default the seed's movement is its whole song's over stretches as long as the take
    /// (the median, <see cref="DynamicsMatch.TypicalMovement"/>; the song is read block by block, each hop's level from
    /// its samples, <see cref="DynamicsMatch.LevelReader"/>): a 10 s excerpt has less room to move than a 20 s take, and
    /// a song often opens more steadily than it goes on. On hyperrogue-music's three laboratories, over three training
    /// draws, that brought each seed's takes' loudness movement nearer its own music's (the mean |ln(takes' ratio /
    /// the music's)| over the 18 seed-draws 0.43 to 0.21), FAD and pulse means within 0.01 (docs/evaluation.md, "The
    /// seed song's dynamics"). Default false.
    /// </summary>
    public bool ExcerptDynamics { get; set; }
    /// <summary>
    /// Token models: how far each take's level, after every other match, moves toward its seed's: the mean power of its
    /// frames toward the primed excerpt's (<see cref="DynamicsMatch.MatchLevel"/>; 0: none, 1: the seed's, before
    /// <see cref="PartialSustain"/> adds a little). Default 0
    /// (an option left off): the default's takes came out about 4 dB louder than their seed, half of it a heavier tail
    /// of loud frames that the seed timbre's match of mean log energies does not see; at 1, on hyperrogue-music's
    /// laboratories the FAD ratio fell by 0.02-0.05 from two composers' seeds and rose by 0.33 from the third's
    /// (docs/evaluation.md).
    /// </summary>
    public double SeedLevel { get; set; }
    /// <summary>
    /// Token models: hold each take's partials across the frames that would cut them, each fading by at most this many
    /// log-magnitude units (natural log) a frame (<see cref="Transforms.Spectral.PartialSustain"/>; 0: none). A take's
    /// tokens change at about a quarter of the steps, and each change ended every partial the frame before held, which
    /// broke a held note into fragments Basic Pitch does not hear as a note. Default 0.3: on hyperrogue-music's four
    /// laboratories over three training draws it lowered the mean FAD ratio on three (0.92 to 0.68 from the collection's
    /// own seeds, 1.48 to 1.28 from the second composer's, 2.99 to 2.38 from seeds that open with an intro; the third
    /// composer's 0.76 either way) and raised the mean pulse ratio on all four, every target the default met still met.
    /// 0.15 raised the second composer's FAD and 0.05 took it past its target (docs/evaluation.md, "Holding the partials").
    /// A partial goes on, fading, under a louder sound that does not peak at its bin (a stroke over a held note) and
    /// comes back after it: on the same laboratories the FAD ratio from seeds that open with an intro fell in all
    /// three draws (means 0.754 to 0.718), the others moved within 0.01, and the pulse rose on all four
    /// (docs/evaluation.md, "Partials under strokes").
    /// </summary>
    public double PartialSustain { get; set; } = 0.3;
    /// <summary>
    /// Token models: sample among the K most likely tokens only (0: among all). Default 150: on held-out music it kept
    /// the seed's character without replaying training passages (docs/evaluation.md).
    /// </summary>
    public int TopK { get; set; } = 150;
    /// <summary>
    /// Token models: a token held longer than the training music held any token (leaving out its longest 1% of holds),
    /// or than the seed's primed excerpt held any where that is longer, is not sampled again until another one comes, so
    /// that generation cannot freeze into a drone. Default true.
    /// </summary>
    public bool LoopGuard { get; set; } = true;
    /// <summary>
    /// Token models with a texture input: hold the texture the network reads at the primed excerpt's for the whole take
    /// (<see cref="Transforms.Network.FrameLstm.HoldTexture"/>) instead of letting the take's own tokens move it. Default true.
    /// </summary>
    public bool HoldSeedTexture { get; set; } = true;
    /// <summary>
    /// Token models with a beat clock: hold which beat the clock hears, and how surely, at the primed excerpt's for the
    /// whole take (<see cref="Transforms.Network.FrameLstm.HoldBeat"/>: its lag correlations are not moved by the take's
    /// own onsets), so that where the beat falls is still read from the take but a take cannot talk the clock into a
    /// beat of its own. On a collection never tuned on, a take's flicker of onsets locked its clock to a certainty the
    /// seed never had (periodicity 0.30 to 1.0 within 4 s) and the beat guide, following it, changed token at 86% of
    /// steps. Default false, an option left off: on the hyperrogue laboratories, over three training draws, it lowered
    /// the FAD ratio from the collection's own and the second composer's seeds (means 1.15 to 1.02, 1.63 to 1.53) and
    /// raised it from the third's (0.99 to 1.12), every target met; reported on the two collections never tuned on, it
    /// took singularity's pulse below its target (0.79 to 0.53) and raised asc's FAD ratio (5.7 to 6.4)
    /// (docs/evaluation.md, "The seed's beat held").
    /// </summary>
    public bool HoldSeedBeat { get; set; }
    /// <summary>
    /// Token models with a beat clock: how far each take's beat guide is held to the strength the primed excerpt's own
    /// beat gave it. Where a take's clock grows surer of a beat than the seed's clock was (its decayed mean guide scale
    /// above the excerpt's mean), the guide is multiplied by (excerpt's / take's) to this power (0: never held; 1: held
    /// to the excerpt's strength; <see cref="SeedGuide"/>): a take's own flicker of onsets cannot talk the guide into
    /// more flicker. Default 0, an option left off: on the hyperrogue laboratories 0.25 lowered the FAD ratio from the
    /// second and third composers' seeds in all six evaluations (three training draws, two take draws; means 1.63 to
    /// 1.53, 0.98 to 0.96) with every target met (0.5 took savino's loudness movement over its target); reported on
    /// the two collections never tuned on, it took singularity's pulse below its target (0.79 to 0.56) and left asc's
    /// FAD ratio where it was (5.7 to 5.9) (docs/evaluation.md, "The seed guide").
    /// </summary>
    public double SeedGuide { get; set; }
    /// <summary>
    /// Token models with a beat clock: the most the beat guide may add to or take from a token's logit at a step where
    /// the clock expects an onset (its expected onset above 0): there the guide's push g becomes GuideCap x tanh(g /
    /// GuideCap); between beats, where the guide holds the level by penalising rising tokens, it is left whole (0: no cap).
    /// At 32 the guide's push at an onset runs to tens of logits in proportion to each token's rise, so the token that
    /// rises most wins whatever the network prefers; capped, every token that clearly rises gets about the same push and
    /// the network chooses among them (teacher-forced, the music's own next token at expected onsets became 0.8-12 nats
    /// less likely under the uncapped guide, and the cap takes back 36-79% of that). Default 6: on the
    /// hyperrogue laboratories, over three training draws and two take draws, it lowered the FAD ratio from the second
    /// and third composers' seeds in all six evaluations (means 1.63 to 1.49, 0.98 to 0.89) and left the collection's
    /// own where it was (1.15 to 1.14), every target met; 3 went further (1.09, 1.53, 0.79) but took the loudness movement
    /// to 1.84-1.98 of its target's 2. Reported on the two collections never tuned on, it brought singularity's loudness
    /// movement within its target (0.46 to 0.56) and left asc's FAD ratio where it was (5.7) (docs/evaluation.md,
    /// "The guide capped at onsets").
    /// </summary>
    public double GuideCap { get; set; } = 6;
    /// <summary>
    /// Token models with a beat clock: the beat guide moves only the tokens the network itself finds plausible, those
    /// whose logit (after the seed prior) is within GuideWindow of the take's likeliest token at that step, e^-GuideWindow
    /// of its probability or more; the others are left as the network put them (0: every token is moved). Without it the
    /// guide's push (up to the cap at onsets, whole between beats) lifts tokens the network gives a few thousandths of a
    /// chance into the draw; on hyperrogue-music's seeds those were mostly broadband sounds, and the takes came out
    /// 3.7-11 times flatter in spectrum than the music they continue (measure 7), while the model's own analysis and
    /// resynthesis of that music is not (docs/evaluation.md, "The guide window").
    /// </summary>
    public double GuideWindow { get; set; }
    /// <summary>Griffin-Lim iterations when rebuilding phase; 0 (default) uses the model's own setting (16 in the default preset).</summary>
    public int PhaseIterations { get; set; }
    /// <summary>Takes generated together (one batch); each has its own random seed. Default 1.</summary>
    public int Takes { get; set; } = 1;
    /// <summary>
    /// Called about once a second while generating with the steps done and the steps in all (frames, or tokens, of
    /// the takes); null (default) reports nothing.
    /// </summary>
    public Action<long, long>? Progress { get; set; }
    /// <summary>Called once the seed is read, with where in it priming starts, in seconds (<see cref="MusicGenerator.PrimeStart"/>); null (default) reports nothing.</summary>
    public Action<double>? PrimeStarted { get; set; }

    /// <summary>A copy of these options.</summary>
    internal GenerationOptions Copy() => (GenerationOptions)MemberwiseClone();

    /// <summary>Checks every option at once.</summary>
    /// <exception cref="ArgumentException">Some options are out of range; the message lists every one.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (!(Seconds > 0 && Seconds <= MaxSeconds)) problems.Add($"Seconds must be more than 0 and at most {MaxSeconds} (an hour), not {Seconds}.");
        if (!(SeedOffsetSeconds >= 0) || !double.IsFinite(SeedOffsetSeconds)) problems.Add($"SeedOffsetSeconds must be 0 or more, not {SeedOffsetSeconds}.");
        if (!(PrimeSeconds >= 0) || !double.IsFinite(PrimeSeconds)) problems.Add($"PrimeSeconds must be 0 (all) or more, not {PrimeSeconds}.");
        if (!(Temperature >= 0) || !double.IsFinite(Temperature)) problems.Add($"Temperature must be 0 or more, not {Temperature}.");
        if (!(BeatGuidance >= 0) || !double.IsFinite(BeatGuidance)) problems.Add($"BeatGuidance must be 0 (none) or more, not {BeatGuidance}.");
        if (!(SeedGuide >= 0) || !double.IsFinite(SeedGuide)) problems.Add($"SeedGuide must be 0 (none) or more, not {SeedGuide}.");
        if (!(GuideCap >= 0) || !double.IsFinite(GuideCap)) problems.Add($"GuideCap must be 0 (no cap) or more, not {GuideCap}.");
        if (!(GuideWindow >= 0) || !double.IsFinite(GuideWindow)) problems.Add($"GuideWindow must be 0 (every token) or more, not {GuideWindow}.");
        if (!(SeedPrior >= 0) || !double.IsFinite(SeedPrior)) problems.Add($"SeedPrior must be 0 (none) or more, not {SeedPrior}.");
        if (!(SongMemory >= 0 && SongMemory <= 1)) problems.Add($"SongMemory must be between 0 (never) and 1, not {SongMemory}.");
        if (!(SeedContexts >= 0 && SeedContexts <= 1)) problems.Add($"SeedContexts must be between 0 (none) and 1, not {SeedContexts}.");
        if (!(SeedTimbre >= 0 && SeedTimbre <= 1)) problems.Add($"SeedTimbre must be between 0 (none) and 1, not {SeedTimbre}.");
        if (!(SeedGroove >= 0 && SeedGroove <= 2)) problems.Add($"SeedGroove must be between 0 (none) and 2, not {SeedGroove}.");
        if (!(SeedDynamics >= 0 && SeedDynamics <= 1)) problems.Add($"SeedDynamics must be between 0 (none) and 1, not {SeedDynamics}.");
        if (!(SeedLevel >= 0 && SeedLevel <= 1)) problems.Add($"SeedLevel must be between 0 (none) and 1, not {SeedLevel}.");
        if (!(PartialSustain >= 0 && PartialSustain <= 10)) problems.Add($"PartialSustain must be between 0 (none) and 10, not {PartialSustain}.");
        if (!(SeedAdaptation >= 0) || !double.IsFinite(SeedAdaptation)) problems.Add($"SeedAdaptation must be 0 (none) or more, not {SeedAdaptation}.");
        if (!(SeedBias >= 0) || !double.IsFinite(SeedBias)) problems.Add($"SeedBias must be 0 (none) or more, not {SeedBias}.");
        if (!(SeedReuse >= 0) || !double.IsFinite(SeedReuse)) problems.Add($"SeedReuse must be 0 (none) or more, not {SeedReuse}.");
        if (!(SeedEnvelope >= 0 && SeedEnvelope <= 1)) problems.Add($"SeedEnvelope must be between 0 (the envelope network's) and 1 (the seed frame's), not {SeedEnvelope}.");
        if (!(SeedBackoff >= 0 && SeedBackoff <= 1)) problems.Add($"SeedBackoff must be between 0 (the training's frequencies) and 1, not {SeedBackoff}.");
        if (PhaseIterations < 0) problems.Add($"PhaseIterations must be 0 (the model's) or more, not {PhaseIterations}.");
        if (TopK < 0) problems.Add($"TopK must be 0 (all tokens) or more, not {TopK}.");
        if (Takes is < 1 or > 256) problems.Add($"Takes must be between 1 and 256, not {Takes}.");
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
    }
}

/// <summary>
/// Continues a seed song with a fitted pipeline: primes the LSTM's state with the seed's frames (or tokens), feeds each
/// prediction back as the next input, and turns the predicted frames back into audio at the model's sample rate and
/// channels. A frame model feeds back its regressed frame; a token model samples the next token from its predicted
/// distribution (temperature, top-k) and decodes tokens to frames through its codebook. Deterministic: the same model,
/// seed file and options give the same samples.
/// </summary>
public sealed class MusicGenerator
{
    private readonly AudioLoadingTransformer loader;
    private readonly FftVectorizingTransformer vectorizer;
    private readonly LstmForecastingTransformer network;
    private readonly FeatureNormalizingTransformer? normalizer;
    private readonly TokenizingTransformer? tokenizer;

    /// <summary>Finds the loading, vectorizing and LSTM stages in a fitted (or loaded) pipeline (<see cref="PipelineStages.Of"/>).</summary>
    /// <exception cref="ArgumentException">The pipeline lacks one of those stages, or they do not fit together.</exception>
    public MusicGenerator(ITransformer model)
        : this(PipelineStages.Of(model))
    {
    }

    /// <summary>A generator over stages already found.</summary>
    public MusicGenerator(PipelineStages stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        Stages = stages;
        (loader, vectorizer, normalizer, tokenizer, network) = stages;
    }

    /// <summary>The pipeline's stages.</summary>
    public PipelineStages Stages { get; }

    /// <summary>The model's sample rate.</summary>
    public int SampleRate => loader.SampleRate;

    /// <summary>The model's channel count.</summary>
    public int Channels => loader.Channels;

    /// <summary>Frames per second of audio.</summary>
    public double FramesPerSecond => vectorizer.FramesPerSecond;

    /// <summary>The tokenizer of a token model; null for a frame model.</summary>
    public TokenizingTransformer? Tokenizer => tokenizer;

    /// <summary>Generates new audio that continues <paramref name="seedPath"/> (the first take when several are asked for).</summary>
    /// <exception cref="InvalidDataException">The seed cannot be read, or is too short to prime from.</exception>
    public AudioClip Generate(string seedPath, GenerationOptions? options = null) => GenerateTakes(seedPath, options)[0];

    /// <summary>
    /// Generates <see cref="GenerationOptions.Takes"/> continuations of <paramref name="seedPath"/> in one batch; take k
    /// is the same as a single take made with random seed RandomSeed + k - 1.
    /// </summary>
    /// <exception cref="InvalidDataException">The seed cannot be read, or is too short to prime from.</exception>
    public IReadOnlyList<AudioClip> GenerateTakes(string seedPath, GenerationOptions? options = null)
    {
        options ??= new GenerationOptions();
        options.Validate();
        var seed = ReadSeed(seedPath, options);
        int takes = options.Takes;
        int count = (int)Math.Ceiling(options.Seconds * FramesPerSecond) + 1; // + 1: centred STFT frames span one hop less
        using var oneDnnOff = OneDnn.Scope(enabled: false); // batch-1 steps run several times faster without it
        float[][] frames = network.PredictsTokens
            ? TokenFrames(seed, options, count)
            : RegressedFrames(seed.PrimeFrames, options, count);
        int length = (int)Math.Round(options.Seconds * SampleRate);
        var clips = new AudioClip[takes];
        for (int k = 0; k < takes; k++)
        {
            var samples = vectorizer.Invert(frames[k], options.RandomSeed + k, options.PhaseIterations);
            clips[k] = Limited(samples.Select(c => c.AsSpan(0, Math.Min(length, c.Length)).ToArray()).ToArray());
        }
        return clips;
    }

    /// <summary>
    /// Where in <paramref name="seedPath"/> priming starts, in seconds: <see cref="GenerationOptions.SeedOffsetSeconds"/>,
    /// or with <see cref="GenerationOptions.SkipQuietIntro"/> where the song first reaches its typical level from there.
    /// </summary>
    /// <exception cref="InvalidDataException">The seed cannot be read.</exception>
    public double PrimeStart(string seedPath, GenerationOptions? options = null)
    {
        options ??= new GenerationOptions();
        options.Validate();
        return StartOf(options.SkipQuietIntro ? ReadSong(seedPath, options) : null, options);
    }

    private double StartOf(SeedSong? song, GenerationOptions options) => options.SkipQuietIntro
        ? QuietIntro.End(song!.Levels, 1 / FramesPerSecond, options.SeedOffsetSeconds, options.PrimeSeconds)
        : options.SeedOffsetSeconds;

    /// <summary>A seed as generation reads it: its primed excerpt's frames, and what it takes from the whole song.</summary>
    private sealed record Seed(float[] PrimeFrames, SeedSong? Song);

    /// <summary>Reads the seed's whole song for what the options take from it, then the primed excerpt from where priming starts.</summary>
    private Seed ReadSeed(string seedPath, GenerationOptions options)
    {
        var song = ReadSong(seedPath, options);
        double start = StartOf(song, options);
        options.PrimeStarted?.Invoke(start);
        return new Seed(PrimeFrames(seedPath, options, start), song);
    }

    /// <summary>The seed's frames from <paramref name="start"/> seconds, as long as the priming asks (normalised when the model normalises).</summary>
    private float[] PrimeFrames(string seedPath, GenerationOptions options, double start)
    {
        // Only the excerpt that primes is decoded.
        var seed = loader.Load(seedPath, start, options.PrimeSeconds == 0 ? null : options.PrimeSeconds);
        int frameSize = vectorizer.Settings.FrameSize;
        int available = seed.Length;
        int primeSamples = options.PrimeSeconds == 0 ? available : (int)Math.Min(Math.Round(options.PrimeSeconds * SampleRate), available);
        if (primeSamples < frameSize)
            throw new InvalidDataException($"{Path.GetFileName(seedPath)}: too short to prime from after {start:0.##} s (need at least {frameSize} samples, one frame)");
        var prime = seed.Channels.Select(c => c.AsSpan(0, primeSamples).ToArray()).ToArray();
        var primeFrames = vectorizer.Vectorize(prime);
        if (primeFrames.Length == 0)
            throw new InvalidDataException($"{Path.GetFileName(seedPath)}: too short to prime from (no whole frame after {start:0.##} s)");
        normalizer?.Normalize(primeFrames);
        return primeFrames;
    }

    /// <summary>Frame model: feeds each regressed frame back; every take is the same (the model is deterministic).</summary>
    private float[][] RegressedFrames(float[] primeFrames, GenerationOptions options, int count)
    {
        manual_seed(options.RandomSeed);
        int dim = vectorizer.FeatureSize;
        var generated = new float[(long)count * dim];
        var (predictions, state) = network.Run(primeFrames, 1, null);
        try
        {
            var frame = predictions.AsSpan(predictions.Length - dim, dim).ToArray();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < count; i++)
            {
                if (options.Progress is { } progress && clock.ElapsedMilliseconds >= 1000)
                {
                    progress(i, count);
                    clock.Restart();
                }
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
        return Enumerable.Repeat(generated, options.Takes).ToArray();
    }

    /// <summary>
    /// Token model: samples each take's next token from the predicted distribution and decodes the tokens, under the
    /// envelope the codec's envelope channel continues from the seed's when the model has one.
    /// </summary>
    private float[][] TokenFrames(Seed seed, GenerationOptions options, int count) => Decode(seed, SampleTokens(seed.PrimeFrames, options, count), options);

    /// <summary>Decodes the takes, then moves each toward its seed's balance (SeedTimbre), level movement (SeedDynamics), groove (SeedGroove) and level (SeedLevel), and holds its partials (PartialSustain).</summary>
    private float[][] Decode(Seed seed, IReadOnlyList<int[]> takes, GenerationOptions options)
    {
        var (primeFrames, song) = seed;
        var frames = Decode(primeFrames, takes, options.SeedEnvelope);
        if (options.SeedTimbre > 0)
        {
            var bands = new MelEnvelope(TimbreMatch.Bands, vectorizer.Settings.FrameSize, SampleRate); // token models are mono: one frame is Bins wide
            var seedMeans = TimbreMatch.MeanEnergies(bands, song is { Frames.Length: > 0 } ? song.Frames : primeFrames);
            foreach (var take in frames) TimbreMatch.Apply(bands, seedMeans, take, options.SeedTimbre);
        }
        if (options.SeedDynamics > 0 && frames.Length > 0)
        {
            int bins = tokenizer!.Codebook.Bins, takeFrames = Math.Max(1, frames[0].Length / bins);
            double seedMovement = options.ExcerptDynamics ? DynamicsMatch.SlowMovement(primeFrames, bins) : DynamicsMatch.TypicalMovement(song!.Levels, takeFrames);
            foreach (var take in frames) DynamicsMatch.Apply(seedMovement, take, tokenizer.Codebook.Bins, options.SeedDynamics);
        }
        if (options.SeedGroove > 0
            && GrooveMatch.Find(primeFrames, tokenizer!.Codebook.Bins, GrooveShortestSeconds * FramesPerSecond, GrooveLongestSeconds * FramesPerSecond) is { } groove)
            foreach (var take in frames) GrooveMatch.Apply(groove, take, tokenizer.Codebook.Bins, options.SeedGroove);
        if (options.SeedLevel > 0)
        {
            double seedLevel = DynamicsMatch.PowerLevel(primeFrames, tokenizer!.Codebook.Bins);
            foreach (var take in frames) DynamicsMatch.MatchLevel(seedLevel, take, tokenizer.Codebook.Bins, options.SeedLevel);
        }
        if (options.PartialSustain > 0)
            foreach (var take in frames) Transforms.Spectral.PartialSustain.Apply(take, tokenizer!.Codebook.Bins, options.PartialSustain);
        return frames;
    }

    /// <summary>
    /// What the matches after decoding read from the seed's whole song rather than from its primed excerpt: its level
    /// hop by hop (<see cref="GenerationOptions.SeedDynamics"/>, empty with <see cref="GenerationOptions.ExcerptDynamics"/>)
    /// and frames from excerpts spread over it (<see cref="GenerationOptions.SongTimbre"/>; empty without it, or for a
    /// song too short for a whole frame away from an excerpt's ends).
    /// </summary>
    private sealed record SeedSong(double[] Levels, float[] Frames);

    /// <summary>Reads the seed's whole song once, block by block, for what the options take from it; null when they take nothing.</summary>
    private SeedSong? ReadSong(string seedPath, GenerationOptions options)
    {
        bool tokens = network.PredictsTokens; // the matches after decoding are a token model's
        bool levels = options.SkipQuietIntro || tokens && options.SeedDynamics > 0 && !options.ExcerptDynamics;
        bool timbre = tokens && options.SeedTimbre > 0 && options.SongTimbre;
        if (!levels && !timbre) return null;
        var reader = new DynamicsMatch.LevelReader(1 / FramesPerSecond);
        var excerpts = new SongExcerpts(SongExcerptSeconds, SongExcerptCount);
        AudioFile.ReadBlocks(seedPath, (block, count, rate) =>
        {
            if (levels) reader.Add(block, count, rate);
            if (timbre) excerpts.Add(block, count, rate);
        }, () =>
        {
            reader.Restart();
            excerpts.Restart();
        });
        return new SeedSong(reader.Levels(), timbre ? SongFrames(excerpts.Excerpts()) : []);
    }

    /// <summary>
    /// The excerpts a seed song's balance is read from (<see cref="GenerationOptions.SongTimbre"/>): 16-32 of 0.5 s
    /// spread over the song (all of a song under 16 s) cost a fraction of the whole song's resampling and STFT. On
    /// hyperrogue-music's seeds their mean band energies came within 0.15-0.43 (natural log, the largest band's
    /// difference) of the whole song's, where the primed 10 s were 0.6-4.7 away (docs/evaluation.md).
    /// </summary>
    internal const double SongExcerptSeconds = 0.5;
    internal const int SongExcerptCount = 32;

    /// <summary>The model's frames of <paramref name="excerpts"/>, less those whose window reaches past an excerpt's ends.</summary>
    private float[] SongFrames(IReadOnlyList<AudioClip> excerpts)
    {
        var settings = vectorizer.Settings;
        int edge = (settings.FrameSize / 2 + settings.Hop - 1) / settings.Hop, dim = vectorizer.FeatureSize;
        var frames = new List<float>();
        foreach (var excerpt in excerpts)
        {
            var features = vectorizer.Vectorize(loader.Conform(excerpt).Channels);
            int count = features.Length / dim - 2 * edge;
            if (count > 0) frames.AddRange(features.AsSpan(edge * dim, count * dim));
        }
        var result = frames.ToArray();
        normalizer?.Normalize(result);
        return result;
    }

    /// <summary>
    /// The periods a seed's groove is looked for at (<see cref="GenerationOptions.SeedGroove"/>): a beat's level pattern,
    /// not a bar's. Up to about 1 s, the patterns found in hyperrogue-music's seeds (0.4-0.95 s) raised the takes'
    /// loudness movement on all three of its laboratories (docs/evaluation.md).
    /// </summary>
    internal const double GrooveShortestSeconds = 0.23, GrooveLongestSeconds = 0.5;

    private float[][] Decode(float[] primeFrames, IReadOnlyList<int[]> takes, double seedEnvelope)
    {
        if (tokenizer!.Envelope is not { } envelope) return takes.Select(tokenizer.Codebook.Decode).ToArray();
        // The envelope network reads only the prime's last frames; the seed envelope reads all of them (encoded again:
        // sampling encoded them all), and the last ones' tokens are theirs.
        int bins = tokenizer.Codebook.Bins, from = Math.Max(0, primeFrames.Length / bins - EnvelopeLstm.PrimeFrames);
        var tail = primeFrames.AsSpan(from * bins).ToArray();
        var seed = seedEnvelope > 0 && primeFrames.Length >= bins ? envelope.SeedFrames(primeFrames, seedEnvelope) : null;
        IReadOnlyList<int> primeTokens = seed is null ? tokenizer.Codebook.Encode(tail) : seed.Tokens[from..];
        // The seed's last frame: the first generated frame continues its partials.
        float[]? before = null;
        if (tail.Length >= bins) envelope.Envelope.Energies(tail.AsSpan(tail.Length - bins, bins), before = new float[envelope.Envelope.Bands]);
        return takes.Select(tokens => envelope.Render(tokens, envelope.Continue(tail, primeTokens, tokens, seed), before: before)).ToArray();
    }

    /// <summary>
    /// Token models: the log-magnitude frames ([frames, bins] row-major) that <see cref="GenerateTakes"/> gives Griffin-Lim
    /// for token sequences sampled from <paramref name="seedPath"/> with the same options (see <see cref="SampleTokens(string, GenerationOptions?)"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model predicts frames, not tokens.</exception>
    public IReadOnlyList<float[]> DecodeTokens(string seedPath, IReadOnlyList<int[]> takes, GenerationOptions? options = null)
    {
        if (!network.PredictsTokens) throw new InvalidOperationException("This model predicts frames, not tokens.");
        options ??= new GenerationOptions();
        options.Validate();
        return Decode(ReadSeed(seedPath, options), takes, options);
    }

    /// <summary>
    /// Token models: the token sequences of <see cref="GenerationOptions.Takes"/> continuations of
    /// <paramref name="seedPath"/> (what <see cref="GenerateTakes"/> decodes and turns into audio).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model predicts frames, not tokens.</exception>
    public IReadOnlyList<int[]> SampleTokens(string seedPath, GenerationOptions? options = null)
    {
        if (!network.PredictsTokens) throw new InvalidOperationException("This model predicts frames, not tokens.");
        options ??= new GenerationOptions();
        options.Validate();
        using var oneDnnOff = OneDnn.Scope(enabled: false);
        return SampleTokens(ReadSeed(seedPath, options).PrimeFrames, options, (int)Math.Ceiling(options.Seconds * FramesPerSecond) + 1);
    }

    private int[][] SampleTokens(float[] primeFrames, GenerationOptions options, int count)
    {
        // Sampling changes the network for its duration (the kept token keys, the memory gains fitted to the seed):
        // calls that share a model take turns.
        lock (network.Network) return SampleTokensAlone(primeFrames, options, count);
    }

    private int[][] SampleTokensAlone(float[] primeFrames, GenerationOptions options, int count)
    {
        // LibTorch's own thread count: a step's small operations run as fast on one thread as on two, and its LSTM
        // matrix products faster on two (bench generate: 0.87 s against 1.02 s for a 20 s take's sampling on 2 cores).
        using var keys = network.Network.KeepTokenKeys();
        var codebook = tokenizer!.Codebook;
        int takes = options.Takes, tokenCount = network.OutputSize;
        var primeTokens = codebook.Encode(primeFrames);
        var input = new float[primeTokens.Length * takes];
        for (int t = 0; t < primeTokens.Length; t++)
            for (int k = 0; k < takes; k++) input[t * takes + k] = primeTokens[t];
        // The memory gains and token biases fitted to the primed excerpt (SeedAdaptation, SeedBias) from the priming
        // pass's own terms while these takes are sampled, then put back.
        using var backoff = SeedBackoff(primeTokens, tokenCount, options.SeedBackoff);
        using var adaptation = new SeedAdaptation(network.Network, options.SeedAdaptation, options.SeedBias);
        var (logits, state) = network.Run(input, takes, null, adaptation.Fits ? adaptation.Fit : null);
        var prior = SeedPrior(primeTokens, tokenCount, options.SeedPrior);
        var contexts = MusicGen.SeedContexts.For(network, primeTokens, tokenCount, options.SeedContexts);
        contexts?.Mix(logits.AsSpan(logits.Length - takes * tokenCount), Tensors.ToArray(state.Layers[^1].H), Enumerable.Repeat(primeTokens[^1], takes).ToArray());
        // Where the guide is held to the excerpt's strength, the excerpt's scales from the clock in plain loops.
        var seedGuide = options.SeedGuide > 0 && options.BeatGuidance > 0 && network.Network.BeatClock
            ? MusicGen.SeedGuide.For(network.Network.GuideScales(primeTokens), takes, options.SeedGuide) : null;
        Guide(logits, state.OnsetGuide?.contiguous().data<float>().ToArray(), ClockValues(state), options, prior, takes, seedGuide);
        var current = new int[takes];
        var random = Enumerable.Range(0, takes).Select(k => new Random(options.RandomSeed + k)).ToArray();
        var sampler = new TokenSampler(tokenCount, options.Temperature, options.TopK);
        var tokens = Enumerable.Range(0, takes).Select(_ => new int[count]).ToArray();
        // From here on the network reads the seed's texture (where it has a texture input), until sampling ends.
        network.Network.HoldTexture = options.HoldSeedTexture;
        network.Network.HoldBeat = options.HoldSeedBeat;
        try
        {
            // After priming, steps run in plain loops where the network allows (FrameLstmStepper: the same outputs, to
            // float rounding, about three times faster than LibTorch at batch 1; docs/design.md).
            var stepper = network.Network.Stepper(state);
            var last = logits.AsSpan(logits.Length - takes * tokenCount);
            var step = new float[takes];
            var held = new int[takes];
            int longest = options.LoopGuard ? LoopGuardLimit(codebook.LongestHold, primeTokens) : int.MaxValue;
            for (int k = 0; k < takes; k++)
                for (int t = primeTokens.Length - 1; t >= 0 && primeTokens[t] == primeTokens[^1]; t--) held[k]++;
            var reuse = MusicGen.SeedReuse.For(primeTokens, tokenCount, takes, options.SeedReuse);
            var memories = options.SongMemory > 0 ? Enumerable.Range(0, takes).Select(_ => new SuccessorCounts(primeTokens, tokenCount)).ToArray() : null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < count; i++)
            {
                if (options.Progress is { } progress && clock.ElapsedMilliseconds >= 1000)
                {
                    progress(i, count);
                    clock.Restart();
                }
                for (int k = 0; k < takes; k++)
                {
                    int previous = i == 0 ? primeTokens[^1] : tokens[k][i - 1];
                    reuse?.Steer(last.Slice(k * tokenCount, tokenCount), k);
                    int token = sampler.Sample(last.Slice(k * tokenCount, tokenCount), random[k], held[k] >= longest ? previous : -1);
                    if (memories is not null && token != previous)
                    {
                        if (random[k].NextDouble() < options.SongMemory && memories[k].Draw(previous, random[k]) is int remembered) token = remembered;
                        memories[k].Add(previous, token);
                    }
                    reuse?.Drawn(k, token);
                    step[k] = tokens[k][i] = token;
                    held[k] = tokens[k][i] == previous ? held[k] + 1 : 1;
                }
                if (i == count - 1) break;
                if (stepper is not null)
                {
                    for (int k = 0; k < takes; k++) current[k] = tokens[k][i];
                    var stepped = stepper.Step(current);
                    contexts?.Mix(stepped, stepper.Top, current);
                    seedGuide?.Observe(stepper.Clock);
                    Guide(stepped, stepper.Guide, stepper.Clock, options, prior, takes, seedGuide);
                    last = stepped;
                    continue;
                }
                var (next, nextState) = network.Run(step, takes, state);
                state.Dispose();
                state = nextState;
                if (contexts is not null)
                {
                    for (int k = 0; k < takes; k++) current[k] = tokens[k][i];
                    contexts.Mix(next.AsSpan(next.Length - takes * tokenCount), Tensors.ToArray(state.Layers[^1].H), current);
                }
                var beat = ClockValues(state);
                seedGuide?.Observe(beat);
                Guide(next, state.OnsetGuide?.contiguous().data<float>().ToArray(), beat, options, prior, takes, seedGuide);
                last = next;
            }
        }
        finally
        {
            network.Network.HoldTexture = false;
            network.Network.HoldBeat = false;
            state.Dispose();
        }
        return tokens;
    }

    /// <summary>
    /// The backoff's frequencies moved toward the primed excerpt's own (<see cref="GenerationOptions.SeedBackoff"/>) while
    /// the returned scope lasts; null where there is nothing to move.
    /// </summary>
    private IDisposable? SeedBackoff(int[] prime, int tokenCount, double share)
    {
        if (share == 0 || network.Network.BackoffWeight == 0 || prime.Length == 0) return null;
        var counts = new float[tokenCount];
        foreach (int token in prime) counts[token]++;
        var trained = network.Network.BackoffUnigram;
        var mixed = trained.Select((u, v) => (float)((1 - share) * u + share * counts[v] / prime.Length)).ToArray();
        return network.Network.BackoffDuring(mixed);
    }

    /// <summary>
    /// The longest a take may hold a token under the loop guard: the training music's longest hold (leaving out its
    /// longest 1%), or the primed excerpt's own longest where the seed holds longer: a seed sparser or slower than the
    /// training music holds its sounds longer than the training did (asc-music's time_to_strike up to 35 frames in its
    /// first 10 s, against 12 for the training's; hyperrogue's hr3-mirror 41 against 19), and a guard at the training's
    /// length pushed the take off the seed's held sounds.
    /// </summary>
    internal static int LoopGuardLimit(int trainingLongest, int[] prime)
    {
        int longest = Math.Max(1, trainingLongest);
        for (int t = 0, run = 0; t < prime.Length; t++)
        {
            run = t > 0 && prime[t] == prime[t - 1] ? run + 1 : 1;
            longest = Math.Max(longest, run);
        }
        return longest;
    }

    /// <summary>SeedPrior x ln(1 + the times <paramref name="prime"/> plays each token); null when the weight is 0.</summary>
    internal static float[]? SeedPrior(int[] prime, int tokenCount, double weight)
    {
        if (weight == 0) return null;
        var counts = new int[tokenCount];
        foreach (int token in prime) counts[token]++;
        return counts.Select(n => (float)(weight * Math.Log(1 + n))).ToArray();
    }

    /// <summary>The beat clock's features after the state's last step [B, 2]; empty without a beat clock.</summary>
    private static float[] ClockValues(Transforms.Network.LstmState state) => state.Clock is null ? [] : Tensors.ToArray(state.Clock);

    /// <summary>
    /// Adds the beat guidance times the beat clock's onset guide (times each take's factor where the guide is held to
    /// the excerpt's strength; where the take's clock expects an onset, capped at <see cref="GenerationOptions.GuideCap"/>;
    /// only on the tokens within <see cref="GenerationOptions.GuideWindow"/> of the take's likeliest, when that is set),
    /// and the seed prior, to the last step's logits of every take. <paramref name="clock"/>: the clock's features [B, 2].
    /// </summary>
    internal static void Guide(float[] logits, float[]? guide, ReadOnlySpan<float> clock, GenerationOptions options, float[]? prior, int takes, SeedGuide? held)
    {
        if (prior is not null)
            for (int k = 1; k <= takes; k++)
            {
                var take = logits.AsSpan(logits.Length - k * prior.Length, prior.Length);
                System.Numerics.Tensors.TensorPrimitives.Add(take, prior, take);
            }
        if (options.BeatGuidance == 0 || guide is null) return;
        float cap = (float)options.GuideCap, window = (float)options.GuideWindow;
        int offset = logits.Length - guide.Length, tokenCount = guide.Length / takes;
        for (int k = 0; k < takes; k++)
        {
            float weight = (float)(options.BeatGuidance * (held?.Factor(k) ?? 1));
            var push = guide.AsSpan(k * tokenCount, tokenCount);
            var take = logits.AsSpan(offset + k * tokenCount, tokenCount);
            int beat = k * Transforms.Network.FrameLstm.BeatFeatures;
            // Only the tokens the network itself finds plausible are moved (GuideWindow: within it of the likeliest).
            float floor = window > 0 ? System.Numerics.Tensors.TensorPrimitives.Max(take) - window : float.NegativeInfinity;
            if (cap > 0 && beat < clock.Length && clock[beat] > 0)
                for (int v = 0; v < tokenCount; v++) { if (take[v] >= floor) take[v] += cap * MathF.Tanh(weight * push[v] / cap); }
            else
                for (int v = 0; v < tokenCount; v++) { if (take[v] >= floor) take[v] += weight * push[v]; }
        }
    }

    /// <summary>
    /// A file passed through the model's own analysis and resynthesis without the LSTM (loading, features, normalisation
    /// or tokens, and back): what the representation can hold.
    /// </summary>
    public AudioClip Reconstruct(string path, int randomSeed = 1, int phaseIterations = 0) => Reconstruct(AudioFile.Read(path), randomSeed, phaseIterations);

    /// <summary>
    /// A decoded clip passed through the model's own analysis and resynthesis (see <see cref="Reconstruct(string, int, int)"/>),
    /// its phase rebuilt with <paramref name="phaseIterations"/> Griffin-Lim iterations (0: the model's own setting, as
    /// <see cref="GenerationOptions.PhaseIterations"/> for takes).
    /// </summary>
    public AudioClip Reconstruct(AudioClip decoded, int randomSeed = 1, int phaseIterations = 0)
    {
        if (phaseIterations < 0) throw new ArgumentException($"PhaseIterations must be 0 (the model's) or more, not {phaseIterations}.", nameof(phaseIterations));
        var clip = loader.Conform(decoded);
        var frames = vectorizer.Vectorize(clip.Channels);
        if (tokenizer is not null) frames = tokenizer.Reconstruct(frames);
        if (normalizer is not null)
        {
            normalizer.Normalize(frames);
            normalizer.Denormalize(frames);
        }
        var samples = vectorizer.Invert(frames, randomSeed, phaseIterations);
        int length = Math.Min(clip.Length, samples[0].Length);
        return Limited(samples.Select(c => c.AsSpan(0, length).ToArray()).ToArray());
    }

    // Rendered audio as a clip, under full scale: a level the take's envelope raises past it is limited, not clipped.
    private AudioClip Limited(float[][] channels)
    {
        PeakLimiter.Limit(channels, SampleRate);
        return new AudioClip(SampleRate, channels);
    }

    /// <summary>
    /// Generates <see cref="GenerationOptions.Takes"/> takes and writes them: to <paramref name="outputPath"/> for one
    /// take, else numbered beside it (song.wav: song-1.wav, song-2.wav, ...). Each is written to a temporary file, then renamed.
    /// </summary>
    public IReadOnlyList<(string Path, AudioClip Clip)> GenerateToFiles(string seedPath, string outputPath, GenerationOptions? options = null,
        WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        options ??= new GenerationOptions();
        options.Validate();
        var paths = TakePaths(outputPath, options.Takes);
        AudioWriter.CheckFormat(outputPath);
        OutputGuard.Check(paths, [seedPath]);
        var clips = GenerateTakes(seedPath, options);
        for (int k = 0; k < clips.Count; k++) AudioWriter.Write(paths[k], clips[k], format);
        return paths.Zip(clips).ToList();
    }

    /// <summary>The files <see cref="GenerateToFiles"/> writes: <paramref name="outputPath"/> for one take, else numbered beside it.</summary>
    public static IReadOnlyList<string> TakePaths(string outputPath, int takes) =>
        Enumerable.Range(1, Math.Max(1, takes)).Select(k => takes <= 1 ? outputPath
            : Path.Combine(Path.GetDirectoryName(outputPath) ?? "", $"{Path.GetFileNameWithoutExtension(outputPath)}-{k}{Path.GetExtension(outputPath)}")).ToList();

    /// <summary>Generates and writes a WAV file (written to a temporary file, then renamed).</summary>
    public AudioClip GenerateToFile(string seedPath, string outputPath, GenerationOptions? options = null, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        AudioWriter.CheckFormat(outputPath);
        OutputGuard.Check([outputPath], [seedPath]);
        var clip = Generate(seedPath, options);
        AudioWriter.Write(outputPath, clip, format);
        return clip;
    }
}
