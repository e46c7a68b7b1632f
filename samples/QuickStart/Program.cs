using Microsoft.ML;
using MusicGen;

namespace QuickStart;

public static class Program
{
    // dotnet run --project samples/QuickStart -- data out
    public static void Main(string[] args)
    {
        string songs = args.Length > 0 ? args[0] : "data";
        string outDir = args.Length > 1 ? args[1] : "out";
        Directory.CreateDirectory(outDir);

        // A view of file paths, then the default model in one catalog verb: loading, log-magnitude frames, a
        // codebook of tokens, stateful batches and the LSTM (PipelineSettings.TokenModel() holds every default).
        var ml = new MLContext(seed: 1);
        IDataView files = ml.Data.LoadAudioFiles([songs]);
        var pipeline = ml.Transforms.TokenModel(PipelineSettings.TokenModel() with { Epochs = 5 });
        ITransformer model = pipeline.Fit(files);

        // Saved with ML.NET's own format...
        string modelPath = Path.Combine(outDir, "model.zip");
        ml.Model.Save(model, files.Schema, modelPath);

        // ...and loaded anywhere, by a new MLContext, to continue a seed song.
        ITransformer loaded = new MLContext().Model.Load(modelPath, out _);
        var generator = new MusicGenerator(loaded);
        string seed = Directory.GetFiles(songs, "*.wav").Order().First();
        string wav = Path.Combine(outDir, "continued.wav");
        generator.GenerateToFile(seed, wav, new GenerationOptions { Seconds = 5 });
        Console.WriteLine($"Wrote {wav} from {seed}");
    }
}
