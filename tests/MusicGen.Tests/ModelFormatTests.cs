using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML;

namespace MusicGen.Tests;

/// <summary>
/// Models saved by earlier versions: the checked-in ones (Models/, saved before per-stage formats were numbered, every
/// stage at format 1) load and generate; a stage saved in a format this version no longer reads, or in a newer one,
/// is refused with a message that says so (not as damage).
/// </summary>
public class ModelFormatTests
{
    private static string Checked(string name) => Path.Combine(AppContext.BaseDirectory, "Models", name);

    [Theory]
    [InlineData("format1-token.zip", true)]
    [InlineData("format1-seed2017.zip", false)]
    public void Models_saved_in_format_1_load_and_generate(string name, bool tokens)
    {
        using var temp = new TempFolder();
        var generator = new MusicGenerator(ModelFile.Load(new MLContext(), Checked(name)));
        Assert.Equal(tokens, generator.Stages.Network.PredictsTokens);
        Assert.False(generator.Stages.Loader.SkipUnreadable); // format 1 of the loader did not have it
        string seed = temp.File("seed.wav");
        Transforms.Audio.WavWriter.Write(seed, TestAudio.Melody(8000, 2, 1));
        var clip = generator.Generate(seed, new GenerationOptions { Seconds = 1 });
        Assert.Equal(generator.SampleRate, clip.Length);
    }

    [Fact]
    public void A_token_model_whose_envelope_was_saved_without_its_layout_loads_with_plain_mel_bands()
    {
        // format2-token.zip: tokenizer format 2 (an envelope channel of 24 bands, before the layout was saved), saved by
        // the version of 2026-12-03 (commit 42c9e75) from data/jungle.wav at 8000 Hz.
        using var temp = new TempFolder();
        var generator = new MusicGenerator(ModelFile.Load(new MLContext(), Checked("format2-token.zip")));
        var envelope = generator.Stages.Tokenizer!.Envelope!;
        Assert.Equal(24, envelope.Envelope.Bands);
        Assert.False(envelope.Envelope.BinFloored);
        string seed = temp.File("seed.wav");
        Transforms.Audio.WavWriter.Write(seed, TestAudio.Melody(8000, 2, 1));
        var clip = generator.Generate(seed, new GenerationOptions { Seconds = 1 });
        Assert.Equal(generator.SampleRate, clip.Length);
    }

    [Theory]
    [InlineData(0u, "was saved by an older version of MusicGen (format 0; this version reads formats 1 to 2): retrain the model with this version")]
    [InlineData(9u, "was saved by a newer version of MusicGen (format 9; this version reads formats up to 2): update MusicGen to load it")]
    public void A_stage_in_a_format_this_version_does_not_read_is_refused_plainly(uint format, string expected)
    {
        using var temp = new TempFolder();
        string path = temp.File("m.zip");
        File.Copy(Checked("format1-token.zip"), path);
        // The loader's header: its model signature at 0x40, the format it was written in at 0x48, the oldest reader at 0x4C.
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("TransformerChain/Transform_000/Model.key")!;
            byte[] bytes;
            using (var s = entry.Open())
            {
                var copy = new MemoryStream();
                s.CopyTo(copy);
                bytes = copy.ToArray();
            }
            Assert.Equal("MGAUDLOD"u8.ToArray(), bytes.AsSpan(0x40, 8).ToArray());
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0x48), 0x00010000 + format);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0x4C), 0x00010000 + format);
            entry.Delete();
            using var w = zip.CreateEntry("TransformerChain/Transform_000/Model.key").Open();
            w.Write(bytes);
        }
        var e = Assert.Throws<InvalidDataException>(() => ModelFile.Load(new MLContext(), path));
        Assert.Contains("its audio-loading stage " + expected, e.Message);
    }

    [Fact]
    public void The_loader_saves_and_reloads_its_skipping()
    {
        using var temp = new TempFolder();
        var ml = new MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp)]);
        var loader = ml.Transforms.LoadAudio(new Estimators.AudioLoadingEstimator.Options { SkipUnreadable = true }).Fit(files);
        string path = temp.File("loader.zip");
        ml.Model.Save(loader, files.Schema, path);
        var loaded = (Transforms.AudioLoadingTransformer)new MLContext().Model.Load(path, out _);
        Assert.True(loaded.SkipUnreadable);
        Assert.Equal(8000, loaded.SampleRate);
    }
}
