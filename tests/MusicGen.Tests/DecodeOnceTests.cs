using System.Collections.Concurrent;
using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

/// <summary>Training decodes each file once: the loader's view keeps what the first pass decoded for the later passes.</summary>
public class DecodeOnceTests
{
    [TheoryNeeding("ffmpeg")]
    [InlineData("default")]
    [InlineData("seed2017")]
    public void Train_decodes_every_file_once(string preset)
    {
        using var temp = new TempFolder();
        string songs = temp.Sub("songs");
        // A collection as people have it: Ogg Vorbis at 44.1 kHz stereo, a WAV, and a file that is not audio.
        for (int i = 0; i < 3; i++)
        {
            string wav = temp.File($"src{i}.wav");
            WavWriter.Write(wav, TestAudio.Melody(44100, 2, 2, variant: i));
            TestAudio.Ffmpeg("-i", wav, "-c:a", "libvorbis", Path.Combine(songs, $"song{i}.ogg"));
        }
        WavWriter.Write(Path.Combine(songs, "song3.wav"), TestAudio.Melody(8000, 2, 1, variant: 3));
        File.WriteAllText(Path.Combine(songs, "notes.wav"), "not audio");

        var whole = new ConcurrentDictionary<string, int>();
        AudioFile.Decoding = (path, start, length) =>
        {
            // A file's first (here only) segment; not the 0.1 s the seed2017 preset reads for the rate.
            if (start == 0 && length is null or >= 10) whole.AddOrUpdate(Path.GetFileName(path), 1, (_, n) => n + 1);
        };
        int code;
        var err = new StringWriter();
        try
        {
            string[] sizes = preset == "default"
                ? ["--frame-size", "256", "--hop", "64", "--tokens", "16", "--mel-bands", "16", "--sample-rate", "8000", "--embedding", "8", "--sequence-length", "8"]
                : ["--frame-size", "64", "--channels", "1", "--batching", "ContiguousStreams", "--validation", "0.25"];
            code = Host.Program.Run(["train", songs, "--model", temp.File("m.zip"), "--preset", preset, "--batch-size", "2", "--layers", "1",
                "--hidden", "8", "--epochs", "2", .. sizes], new StringWriter(), err);
        }
        finally
        {
            AudioFile.Decoding = null;
        }
        Assert.True(code == 0, err.ToString());
        Assert.Contains("skipping notes.wav: not a recognised audio file", err.ToString());
        Assert.Equal(["notes.wav", "song0.ogg", "song1.ogg", "song2.ogg", "song3.wav"], whole.Keys.Order(StringComparer.Ordinal));
        Assert.All(whole, f => Assert.True(f.Value == 1, $"{f.Key} was decoded {f.Value} times"));
    }

    [Fact]
    public void Transforming_with_a_fitted_model_decodes_every_file_once()
    {
        using var temp = new TempFolder();
        var ml = new Microsoft.ML.MLContext(seed: 1);
        var files = ml.Data.LoadAudioFiles([TestAudio.MelodyFolder(temp, count: 3)]);
        using var model = ml.Transforms.TokenModel(TokenModelTests.TinyTokens() with { Epochs = 1 }).Fit(files);
        var decodes = new ConcurrentDictionary<string, int>();
        AudioFile.Decoding = (path, _, _) => decodes.AddOrUpdate(Path.GetFileName(path), 1, (_, n) => n + 1);
        int rows = 0;
        try
        {
            // The LSTM stage reads its input twice (once ahead, a file at a time); the upstream views keep what they decoded.
            var output = model.Transform(files);
            var column = output.Schema["PredictedFeatures"];
            using var cursor = output.GetRowCursor([column]);
            var get = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(column);
            Microsoft.ML.Data.VBuffer<float> logits = default;
            while (cursor.MoveNext())
            {
                get(ref logits);
                rows++;
            }
        }
        finally
        {
            AudioFile.Decoding = null;
        }
        Assert.True(rows > 0);
        Assert.Equal(["song0.wav", "song1.wav", "song2.wav"], decodes.Keys.Order(StringComparer.Ordinal));
        Assert.All(decodes, f => Assert.True(f.Value == 1, $"{f.Key} was decoded {f.Value} times"));
    }
}
