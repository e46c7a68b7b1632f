using System.CommandLine;
using System.Diagnostics;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Spectral;

namespace MusicGen.Host.Commands;

/// <summary><c>musicgen bench</c>: measures what the README quotes.</summary>
internal static class BenchCommand
{
    public static Command Create(Cli cli)
    {
        var paths = new Argument<string[]>("paths") { Description = "Audio files or folders", Arity = ArgumentArity.OneOrMore };
        var repeat = Cli.Option("--repeat", "Decode every file this many times", 3);
        var decode = new Command("decode", "Decode throughput: seconds of audio decoded per second, per container") { paths, repeat };
        decode.SetAction(r => cli.Guard(_ => Decode(cli, r.GetValue(paths)!, r.GetValue(repeat))));
        var files = new Argument<string[]>("paths") { Description = "Audio to analyse (default: the demo data/)", Arity = ArgumentArity.ZeroOrMore };
        var featureRepeat = Cli.Option("--repeat", "Timed passes per representation (the median is reported)", 15);
        var features = new Command("features", "Feature throughput per representation, beside numpy doing the 2017 framing") { files, featureRepeat };
        features.SetAction(r => cli.Guard(_ => Features(cli, r.GetValue(files) ?? [], r.GetValue(featureRepeat))));
        var model = new Option<string>("--model", "-m") { Description = "Trained model (.zip)", Required = true };
        var seed = new Option<string>("--seed", "-s") { Description = "Seed audio file", Required = true };
        var seconds = Cli.Option("--seconds", "Seconds per take", 20.0);
        var takes = Cli.Option("--takes", "Takes per batch", 1);
        var generateRepeat = Cli.Option("--repeat", "Timed runs (the median is reported)", 3);
        var sampling = new SamplingOptions();
        var generate = new Command("generate", "Generation speed, split into seed loading, sampling and phase reconstruction")
        {
            model, seed, seconds, takes, generateRepeat,
        };
        sampling.AddTo(generate);
        generate.SetAction(r => cli.Guard(_ => Generate(cli, r.GetValue(model)!, r.GetValue(seed)!,
            sampling.Apply(r, new GenerationOptions { Seconds = r.GetValue(seconds), Takes = r.GetValue(takes) }), r.GetValue(generateRepeat))));
        return new Command("bench", "Benchmarks that print figures") { decode, features, generate, TrainingBenchmark.Create(cli) };
    }

    private static int Generate(Cli cli, string modelPath, string seedPath, GenerationOptions options, int repeat)
    {
        var generator = new MusicGenerator(ModelFile.Load(new Microsoft.ML.MLContext(), modelPath));
        double seconds = options.Seconds;
        int takes = options.Takes;
        generator.GenerateTakes(seedPath, options); // warm-up
        double audio = seconds * takes;
        double load = Median(repeat, () => AudioFile.Read(seedPath));
        double total = Median(repeat, () => generator.GenerateTakes(seedPath, options));
        cli.Out.WriteLine($"{takes} take(s) of {seconds} s, median of {repeat} runs, {Environment.ProcessorCount} cores");
        cli.Out.WriteLine($"{"what",-48} {"seconds",8} {"x real time",12}");
        cli.Out.WriteLine($"{"reading the seed file",-48} {load,8:F2}");
        if (generator.Tokenizer is not null)
        {
            double sampling = Median(repeat, () => generator.SampleTokens(seedPath, options));
            cli.Out.WriteLine($"{"priming and sampling tokens (seed read included)",-48} {sampling,8:F2}");
            cli.Out.WriteLine($"{"decoding tokens and Griffin-Lim phase",-48} {total - sampling,8:F2}");
            if (generator.Tokenizer.Envelope is not null)
            {
                var sampled = generator.SampleTokens(seedPath, options);
                double decoding = Median(repeat, () => generator.DecodeTokens(seedPath, sampled, options));
                cli.Out.WriteLine($"{"  of which decoding with the envelope channel",-48} {decoding,8:F2}");
            }
        }
        cli.Out.WriteLine($"{"all of generation",-48} {total,8:F2} {audio / total,12:F1}");
        if (generator.Tokenizer is not null)
        {
            var tokens = generator.SampleTokens(seedPath, options);
            // How consistent the take's audio is with its decoded frames, for each start of the phase.
            var frames = generator.DecodeTokens(seedPath, tokens, options)[0];
            var spectral = generator.Stages.Vectorizer.Spectral;
            foreach (var start in new[] { PhaseStart.Locked, PhaseStart.Random })
            {
                var samples = spectral.Inverse(frames, 1, options.RandomSeed, options.PhaseIterations, start);
                cli.Out.WriteLine($"take 1's phase from a {start.ToString().ToLowerInvariant()} start: spectral convergence {spectral.SpectralConvergence(frames, samples):F1} dB");
            }
        }
        return 0;
    }

    private static int Features(Cli cli, IReadOnlyList<string> paths, int repeat)
    {
        var sources = AudioFile.Expand(paths.Count > 0 ? paths : [DemoCommand.FindDataFolder()]);
        var clips = sources.Select(AudioFile.Read).ToList();
        int rate = clips[0].SampleRate;
        var clips1 = clips.Select(c => c.WithChannels(1)).Where(c => c.SampleRate == rate).ToList();
        var samples = clips1.SelectMany(c => c.Channels[0]).ToArray();
        double seconds = (double)samples.Length / rate;
        cli.Out.WriteLine($"{seconds:F1} s of mono audio at {rate} Hz from {clips1.Count} file(s), median of {repeat} timed passes, {Environment.ProcessorCount} cores");
        cli.Out.WriteLine($"{"what",-48} {"x real time",12}");
        var cases = new (string Name, SpectralSettings Settings)[]
        {
            ("Seed2017 (N 256, rectangular, full FFT)", SpectralSettings.Seed2017()),
            ("ComplexSpectrum (N 1024, hop 256, Hann)", new(Representation.ComplexSpectrum, 1024, 256, WindowKind.Hann, 2f / 1024)),
            ("LogMagnitude (N 1024, hop 256, Hann)", new(Representation.LogMagnitude, 1024, 256, WindowKind.Hann, 2f / 1024)),
            ("LogMel (N 1024, hop 256, Hann, 80 bands)", new(Representation.LogMel, 1024, 256, WindowKind.Hann, 2f / 1024, 80, 1e-10f)),
        };
        foreach (var (name, settings) in cases)
        {
            using var transform = new SpectralTransform(settings, rate);
            var features = transform.Direct([samples]); // warm-up
            cli.Out.WriteLine($"{name,-48} {seconds / Median(repeat, () => transform.Direct([samples])),12:F0}");
            if (settings.Representation is Representation.LogMagnitude or Representation.LogMel)
                foreach (var start in new[] { PhaseStart.Random, PhaseStart.Locked })
                    foreach (int iterations in new[] { 4, settings.GriffinLimIterations })
                    {
                        var clock = Stopwatch.StartNew();
                        var back = transform.Inverse(features, 1, iterations: iterations, start: start);
                        double speed = seconds / clock.Elapsed.TotalSeconds;
                        cli.Out.WriteLine($"{$"  inverse, {iterations} Griffin-Lim iterations, {start.ToString().ToLowerInvariant()} start",-48} {speed,12:F1}"
                            + $"   spectral convergence {transform.SpectralConvergence(features, back),6:F1} dB");
                    }
        }
        foreach (var line in Numpy(samples, repeat, rate)) cli.Out.WriteLine(line);
        return 0;
    }

    /// <summary>Median wall time of <paramref name="repeat"/> runs, in seconds (the machine is shared: the median resists bursts).</summary>
    private static double Median(int repeat, Action run)
    {
        var times = new double[repeat];
        for (int i = 0; i < repeat; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            times[i] = clock.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[repeat / 2];
    }

    /// <summary>The 2017 framing in numpy (vectorised, and frame by frame as the original loop did), timed by Python.</summary>
    private static IEnumerable<string> Numpy(float[] samples, int repeat, int rate)
    {
        const string Script = """
            import sys, time
            import numpy as np
            x = np.fromfile(sys.argv[1], dtype=np.float32); N = 256; R = int(sys.argv[2]); rate = float(sys.argv[3])
            def vectorised(x):
                n = len(x) // N
                s = np.fft.fft(x[:n * N].reshape(n, N), axis=1) / (N / 2)
                return np.concatenate([s.real, s.imag], axis=1).astype(np.float32)
            def per_frame(x):
                out = []
                for i in range(len(x) // N):
                    s = np.fft.fft(x[i * N:(i + 1) * N]) / (N / 2)
                    out.append(np.concatenate([s.real, s.imag]))
                return np.array(out, dtype=np.float32)
            for name, f in (("numpy, 2017 framing, vectorised", vectorised), ("numpy, 2017 framing, frame by frame", per_frame)):
                f(x)
                times = []
                for _ in range(R):
                    t = time.perf_counter(); f(x); times.append(time.perf_counter() - t)
                print(f"{name:<48} {len(x) / rate / sorted(times)[R // 2]:12.0f}")
            """;
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, System.Runtime.InteropServices.MemoryMarshal.AsBytes(samples.AsSpan()).ToArray());
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            return Python(Script, file, repeat.ToString(inv), rate.ToString(inv))?.Output ?? ["numpy: not available (apt-get install python3-numpy)"];
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Runs a Python script with Debian's python3; null when there is no python3, else its output lines and error text.</summary>
    internal static (string[] Output, string Error, int ExitCode)? Python(string script, params string[] arguments)
    {
        foreach (var python in new[] { "/usr/bin/python3", "python3" })
        {
            var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-c", script }.Concat(arguments)) start.ArgumentList.Add(a);
            Process? p;
            try { p = Process.Start(start); } catch (System.ComponentModel.Win32Exception) { continue; }
            if (p is null) continue;
            using (p)
            {
                var error = p.StandardError.ReadToEndAsync();
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode == 0 || output.Length > 0) return (output.TrimEnd().Split('\n'), error.Result, p.ExitCode);
                return ([], error.Result, p.ExitCode);
            }
        }
        return null;
    }

    private static int Decode(Cli cli, IReadOnlyList<string> paths, int repeat)
    {
        var totals = new SortedDictionary<AudioContainer, (double Audio, double Wall, int Files)>();
        foreach (var file in AudioFile.Expand(paths))
        {
            var container = AudioFile.Detect(file);
            try
            {
                AudioFile.Read(file); // warm the page cache and the decoder binary
                var clock = Stopwatch.StartNew();
                double audio = 0;
                for (int i = 0; i < repeat; i++) audio += AudioFile.Read(file).Seconds;
                var t = totals.GetValueOrDefault(container);
                totals[container] = (t.Audio + audio, t.Wall + clock.Elapsed.TotalSeconds, t.Files + 1);
            }
            catch (InvalidDataException e)
            {
                cli.Error.WriteLine($"musicgen: warning: skipping {e.Message}");
            }
        }
        cli.Out.WriteLine($"{"container",-10} {"files",5} {"audio s",9} {"wall s",8} {"x real time",12}");
        foreach (var (container, (audio, wall, files)) in totals)
            cli.Out.WriteLine($"{container,-10} {files,5} {audio,9:F1} {wall,8:F2} {audio / wall,12:F0}");
        return 0;
    }
}
