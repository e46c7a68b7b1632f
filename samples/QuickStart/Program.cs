using Microsoft.ML;
using MusicGen;
using MusicGen.Transforms;

namespace QuickStart;

public static class Program
{
    // dotnet run --project samples/QuickStart -- data out
    public static void Main(string[] args)
    {
        string songs = args.Length > 0 ? args[0] : "data";
        string outDir = args.Length > 1 ? args[1] : "out";
        Directory.CreateDirectory(outDir);

        // A view of file paths, then the four stages chained with catalog verbs and fitted at once.
        var ml = new MLContext(seed: 1);
        IDataView files = ml.Data.LoadAudioFiles([songs]);
        var pipeline = ml.Transforms.LoadAudio()
            .Append(ml.Transforms.VectorizeFft(frameSize: 256))
            .Append(ml.Transforms.BatchStatefully(BatchOrdering.ContiguousStreams, batchSize: 8))
            .Append(ml.Transforms.PredictNextFrame(epochs: 2, layers: 2, hiddenSize: 64));
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
