using Microsoft.ML;
using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

public class MusicGeneratorTests
{
    [Fact]
    public void Writes_a_valid_wav_of_the_requested_length_and_the_same_file_twice()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        string songs = TestAudio.MelodyFolder(temp);
        var files = ml.Data.LoadAudioFiles([songs]);
        var model = PipelineTests.TinyPipeline(ml).Fit(files);
        string path = temp.File("model.zip");
        ModelFile.Save(ml, model, files.Schema, path);

        var generator = new MusicGenerator(ModelFile.Load(new MLContext(), path));
        var options = new GenerationOptions { Seconds = 1.5, PrimeSeconds = 1, RandomSeed = 3 };
        string seed = Path.Combine(songs, "song0.wav");
        generator.GenerateToFile(seed, temp.File("a.wav"), options);
        generator.GenerateToFile(seed, temp.File("b.wav"), options);

        var clip = WavReader.Read(temp.File("a.wav"));
        Assert.Equal(8000, clip.SampleRate);
        Assert.Equal(1, clip.ChannelCount);
        Assert.Equal(12000, clip.Length);
        Assert.All(clip.Channels[0], x => Assert.True(float.IsFinite(x)));
        Assert.Equal(File.ReadAllBytes(temp.File("a.wav")), File.ReadAllBytes(temp.File("b.wav")));
    }

    [Fact]
    public void Refuses_to_overwrite_the_seed_and_rejects_a_seed_too_short_to_prime()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        string songs = TestAudio.MelodyFolder(temp);
        var files = ml.Data.LoadAudioFiles([songs]);
        var generator = new MusicGenerator(PipelineTests.TinyPipeline(ml, epochs: 1).Fit(files));
        string seed = Path.Combine(songs, "song0.wav");
        Assert.Throws<ArgumentException>(() => generator.GenerateToFile(seed, seed));
        var e = Assert.Throws<InvalidDataException>(() => generator.Generate(seed, new GenerationOptions { SeedOffsetSeconds = 60 }));
        Assert.Contains("song0.wav: too short to prime from", e.Message);
    }

    [Fact]
    public void Needs_a_pipeline_with_all_stages()
    {
        var ml = new MLContext();
        var e = Assert.Throws<ArgumentException>(() => new MusicGenerator(new Microsoft.ML.Data.TransformerChain<ITransformer>()));
        Assert.Contains("audio-loading", e.Message);
    }
}
