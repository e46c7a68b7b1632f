using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using MusicGen.Estimators;
using MusicGen.Transforms;
using MusicGen.Transforms.Audio;

namespace MusicGen.Host.Commands;

/// <summary>
/// <c>musicgen bench train</c>: training speed of the 2017 model (Seed2017 features, 3 x 256 LSTM with dropout, dense
/// output, MSE, Adam, 32 streams) here in both batching modes, and the same model trained by Debian's PyTorch on the
/// same frames in the same batches, side by side, with each one's peak memory.
/// </summary>
internal static class TrainingBenchmark
{
    public static Command Create(Cli cli)
    {
        var files = new Argument<string[]>("paths") { Description = "Audio to train on (default: the demo data/)", Arity = ArgumentArity.ZeroOrMore };
        var bptt = Cli.Option("--sequence-length", "Steps per optimizer step in ContiguousStreams mode (truncated backpropagation through time)", 64);
        var command = new Command("train", "Training frames per second of the 2017 model: ours in both batching modes beside PyTorch") { files, bptt };
        command.SetAction(r => cli.Guard(_ => Run(cli, r.GetValue(files) ?? [], r.GetValue(bptt))));
        return command;
    }

    private static int Run(Cli cli, IReadOnlyList<string> paths, int sequenceLength)
    {
        var sources = AudioFile.Expand(paths.Count > 0 ? paths : [DemoCommand.FindDataFolder()]);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadAudioFiles(sources);
        var features = ml.Transforms.LoadAudio().Append(ml.Transforms.VectorizeFft()).Fit(data);
        var (loader, vectorizer) = ((AudioLoadingTransformer)features.First(), features.LastTransformer);
        cli.Out.WriteLine($"{sources.Count} file(s), Seed2017 features of {vectorizer.FeatureSize} values at {vectorizer.FramesPerSecond:F1} frames/s, " +
                          $"3 x 256 LSTM, batch 32, second epoch timed, {Environment.ProcessorCount} cores");
        cli.Out.WriteLine($"{"trainer",-52} {"frames/s",10} {"peak MB",9}");
        var framed = features.Transform(data);
        foreach (var (ordering, steps) in new[] { (BatchOrdering.Seed2017, 1), (BatchOrdering.ContiguousStreams, sequenceLength) })
        {
            var batched = ml.Transforms.BatchStatefully(ordering, 32).Fit(framed).Transform(framed);
            double speed = 0;
            using var model = ml.Transforms.PredictNextFrame(new LstmForecastingEstimator.Options
            {
                Epochs = 2,
                SequenceLength = steps,
                Progress = p => { if (p.EpochDone && p.Epoch == 2) speed = p.FramesPerSecond; },
            }).Fit(batched);
            string name = $"TorchSharp, {ordering}" + (steps > 1 ? $", BPTT {steps}" : ", one step per batch");
            cli.Out.WriteLine($"{name,-52} {speed,10:F0} {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6,9:F0}");
        }

        // The same frames, file by file, for PyTorch.
        string folder = Directory.CreateTempSubdirectory("musicgen-bench-").FullName;
        try
        {
            var lengths = new List<int>();
            using (var stream = File.Create(Path.Combine(folder, "frames.f32")))
            {
                foreach (var source in sources)
                {
                    var frames = vectorizer.Vectorize(loader.Load(source).Channels);
                    stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(frames.AsSpan()));
                    lengths.Add(frames.Length / vectorizer.FeatureSize);
                }
            }
            var result = BenchCommand.Python(Script, folder, vectorizer.FeatureSize.ToString(CultureInfo.InvariantCulture),
                string.Join(",", lengths), sequenceLength.ToString(CultureInfo.InvariantCulture), Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
            if (result is null) cli.Out.WriteLine("PyTorch: not run (no python3)");
            else if (result.Value.ExitCode != 0)
                cli.Out.WriteLine($"PyTorch: not run ({result.Value.Error.Trim().Split('\n').LastOrDefault()}; apt-get install python3-torch)");
            else foreach (var line in result.Value.Output) cli.Out.WriteLine(line);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        return 0;
    }

    /// <summary>The 2017 model in PyTorch, trained on the same batches as <see cref="StatefulBatchingTransformer"/> makes.</summary>
    private const string Script = """
        import sys, time, resource
        import numpy as np
        import torch
        folder, dim, lengths, bptt, threads = sys.argv[1], int(sys.argv[2]), [int(n) for n in sys.argv[3].split(",")], int(sys.argv[4]), int(sys.argv[5])
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        data = np.fromfile(folder + "/frames.f32", dtype=np.float32).reshape(-1, dim)
        files, at = [], 0
        for n in lengths:
            files.append(torch.from_numpy(data[at:at + n])); at += n
        B = 32
        class Model(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lstms = torch.nn.ModuleList([torch.nn.LSTM(dim, 256), torch.nn.LSTM(256, 256), torch.nn.LSTM(256, 256)])
                self.drops = torch.nn.ModuleList([torch.nn.Dropout(p) for p in (0.5, 0.3, 0.2)])
                self.out = torch.nn.Linear(256, dim)
            def forward(self, x, state):
                new = []
                for i, (lstm, drop) in enumerate(zip(self.lstms, self.drops)):
                    x, s = lstm(x, None if state is None else state[i]); new.append(s); x = drop(x)
                return self.out(x), new
        def batches(frames, ordering):
            n = frames.shape[0] // B
            if n < 2: return None
            if ordering == "Seed2017":
                idx = torch.arange((n - 1) * B).reshape(n - 1, B)   # row b of batch k: frame k*B + b
                return frames[idx], frames[idx + B]
            idx = torch.arange(B).unsqueeze(0) * n + torch.arange(n - 1).unsqueeze(1)   # stream b, step k: b*n + k
            return frames[idx], frames[idx + 1]
        for ordering, steps in (("Seed2017", 1), ("ContiguousStreams", bptt)):
            model = Model(); opt = torch.optim.Adam(model.parameters(), lr=1e-3); loss_fn = torch.nn.MSELoss()
            speed = 0
            for epoch in (1, 2):
                t0 = time.perf_counter(); count = 0
                for frames in files:
                    b = batches(frames, ordering)
                    if b is None: continue
                    x, y = b; state = None
                    for t in range(0, x.shape[0], steps):
                        xs, ys = x[t:t + steps], y[t:t + steps]
                        opt.zero_grad()
                        out, state = model(xs, state)
                        loss = loss_fn(out, ys); loss.backward(); opt.step()
                        state = [(h.detach(), c.detach()) for h, c in state]
                        count += xs.shape[0] * xs.shape[1]
                speed = count / (time.perf_counter() - t0)
            name = f"PyTorch {torch.__version__}, {ordering}" + (f", BPTT {steps}" if steps > 1 else ", one step per batch")
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000
            print(f"{name:<52} {speed:10.0f} {peak:9.0f}")
        """;
}
