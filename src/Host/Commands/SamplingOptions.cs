using System.CommandLine;

namespace MusicGen.Host.Commands;

/// <summary>The priming, sampling and phase options that <c>generate</c>, <c>evaluate</c> and <c>bench generate</c> share.</summary>
internal sealed class SamplingOptions
{
    private static readonly GenerationOptions Defaults = new();
    private readonly Option<double> temperature = Cli.Option("--temperature", "Token models: sampling temperature (0: always the most likely token)", Defaults.Temperature);
    private readonly Option<int> topK = Cli.Option("--top-k", "Token models: sample among the K most likely tokens (0: all)", Defaults.TopK);
    private readonly Option<double> guidance = Cli.Option("--beat-guidance", "Token models with a beat clock: how strongly sampling favours tokens whose onset fits the beat (0: none)", Defaults.BeatGuidance);
    private readonly Option<double> seedPrior = Cli.Option("--seed-prior", "Token models: how strongly sampling favours the tokens the seed's primed excerpt plays (0: none)", Defaults.SeedPrior);
    private readonly Option<double> songMemory = Cli.Option("--song-memory", "Token models: when the sound changes, the chance that the next sound is what the seed and take played after the current one (0: never, 1: always)", Defaults.SongMemory);
    private readonly Option<double> seedContexts = Cli.Option("--seed-contexts", "Token models: when the sound changes, the share that goes where the seed went from its moments most like the take's current one (0: none, 1: all)", Defaults.SeedContexts);
    private readonly Option<double> seedAdaptation = Cli.Option("--seed-adaptation", "Token models: how far the network's trust in what the song played so far is fitted to the seed before sampling (0: none)", Defaults.SeedAdaptation);
    private readonly Option<double> seedBias = Cli.Option("--seed-bias", "Token models: how far each token's bias is fitted to the seed before sampling, favouring the seed's own sounds (0: none)", Defaults.SeedBias);
    private readonly Option<double> seedReuse = Cli.Option("--seed-reuse", "Token models: how quickly each take's share of the seed's own sounds is steered toward the share the seed itself goes back to (0: none)", Defaults.SeedReuse);
    private readonly Option<double> seedBackoff = Cli.Option("--seed-backoff", "Token models: the share of the backoff's draws of other sounds that go to the seed's own sounds instead of the training music's (0: none, 1: all)", Defaults.SeedBackoff);
    private readonly Option<double> seedEnvelope = Cli.Option("--seed-envelope", "Token models: how far each frame's envelope takes the shape of the seed's frame with the same token, at the predicted level (0: none, 1: the seed frame's shape)", Defaults.SeedEnvelope);
    private readonly Option<double> seedTimbre = Cli.Option("--seed-timbre", "Token models: how far the take's tone colour and level move toward the seed's (0: none, 1: all the way)", Defaults.SeedTimbre);
    private readonly Option<double> seedGroove = Cli.Option("--seed-groove", "Token models: how strongly the take keeps the level pattern of the seed's beat (0: none, 1: the seed's depth)", Defaults.SeedGroove);
    private readonly Option<double> seedDynamics = Cli.Option("--seed-dynamics", "Token models: how far the take's swells and drops over seconds follow the seed's (0: none, 1: as far as the seed's)", Defaults.SeedDynamics);
    private readonly Option<double> seedLevel = Cli.Option("--seed-level", "Token models: how far the take's level (its frames' mean power) moves toward the seed's, after the other matches (0: none, 1: the seed's)", Defaults.SeedLevel);
    private readonly Option<double> partialSustain = Cli.Option("--partial-sustain", "Token models: hold the take's partials across frames that would cut them, each fading by at most this many nats a frame (0: none)", Defaults.PartialSustain);
    private readonly Option<bool> songTimbre = new("--song-timbre") { Description = "Token models: move the take's tone colour and level toward the seed's whole song's balance (read from short excerpts spread over it) instead of the primed excerpt's" };
    private readonly Option<bool> excerptDynamics = new("--excerpt-dynamics") { Description = "Token models: aim the take's swells and drops at the primed excerpt's movement instead of the seed song's (over stretches as long as the take)" };
    private readonly Option<bool> holdClock = new("--hold-clock") { Description = "Token models with a beat clock: hold which beat the clock hears, and how surely, at the seed's instead of letting the take's own onsets move it" };
    private readonly Option<double> seedGuide = Cli.Option("--seed-guide", "Token models with a beat clock: how far each take's beat guide is held to the strength the seed's own beat gave it (0: never, 1: held to the seed's)", Defaults.SeedGuide);
    private readonly Option<double> guideWindow = Cli.Option("--guide-window", "Token models with a beat clock: the beat guide moves only the tokens whose logit is within this of the likeliest token's, those the network finds plausible (0: every token)", Defaults.GuideWindow);
    private readonly Option<double> guideCap = Cli.Option("--guide-cap", "Token models with a beat clock: the most the beat guide may add to or take from a token's logit where the clock expects an onset (0: no cap)", Defaults.GuideCap);
    private readonly Option<bool> skipIntro = new("--skip-intro") { Description = "Start priming where the seed song first reaches its typical level (from the offset on), past a quiet intro; false: at the offset", DefaultValueFactory = _ => Defaults.SkipQuietIntro };
    private readonly Option<double> prime = Cli.Option("--prime-seconds", "Seconds of the seed used to prime the model (0: all)", Defaults.PrimeSeconds);
    private readonly Option<int> phase = PhaseIterations();

    /// <summary>--phase-iterations, which <c>reconstruct</c> takes as well.</summary>
    public static Option<int> PhaseIterations() => Cli.Option("--phase-iterations", "Griffin-Lim iterations (0: the model's own setting)", Defaults.PhaseIterations);

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { prime, skipIntro, temperature, topK, guidance, seedPrior, songMemory, seedContexts, seedAdaptation, seedBias, seedReuse, seedBackoff, seedEnvelope, seedTimbre, songTimbre, seedDynamics, excerptDynamics, seedGroove, seedLevel, partialSustain, holdClock, seedGuide, guideCap, guideWindow, phase }) command.Options.Add(o);
    }

    /// <summary>Sets the priming, sampling and phase options given on the command line, and returns <paramref name="options"/>.</summary>
    public GenerationOptions Apply(ParseResult r, GenerationOptions options)
    {
        options.PrimeSeconds = r.GetValue(prime);
        options.SkipQuietIntro = r.GetValue(skipIntro);
        options.Temperature = r.GetValue(temperature);
        options.TopK = r.GetValue(topK);
        options.BeatGuidance = r.GetValue(guidance);
        options.SeedPrior = r.GetValue(seedPrior);
        options.SongMemory = r.GetValue(songMemory);
        options.SeedContexts = r.GetValue(seedContexts);
        options.SeedAdaptation = r.GetValue(seedAdaptation);
        options.SeedBias = r.GetValue(seedBias);
        options.SeedReuse = r.GetValue(seedReuse);
        options.SeedBackoff = r.GetValue(seedBackoff);
        options.SeedEnvelope = r.GetValue(seedEnvelope);
        options.SeedTimbre = r.GetValue(seedTimbre);
        options.SeedDynamics = r.GetValue(seedDynamics);
        options.SeedLevel = r.GetValue(seedLevel);
        options.SeedGroove = r.GetValue(seedGroove);
        options.HoldSeedBeat = r.GetValue(holdClock);
        options.ExcerptDynamics = r.GetValue(excerptDynamics);
        options.SongTimbre = r.GetValue(songTimbre);
        options.PartialSustain = r.GetValue(partialSustain);
        options.SeedGuide = r.GetValue(seedGuide);
        options.GuideCap = r.GetValue(guideCap);
        options.GuideWindow = r.GetValue(guideWindow);
        options.PhaseIterations = r.GetValue(phase);
        return options;
    }
}
