using System.Diagnostics;
using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

/// <summary>generate writes the format its --out names, refuses unknown ones, and writes a WAV to standard output for "-".</summary>
public class OutputFormatTests
{
    private static string TrainedModel(TempFolder temp, out string seed)
    {
        string songs = TestAudio.MelodyFolder(temp, count: 3);
        seed = Path.Combine(songs, "song0.wav");
        string model = temp.File("m.zip");
        var err = new StringWriter();
        int code = Host.Program.Run(["train", songs, "--model", model, "--frame-size", "256", "--hop", "64", "--tokens", "16", "--mel-bands", "16",
            "--sample-rate", "8000", "--batch-size", "2", "--sequence-length", "8", "--layers", "1", "--hidden", "16", "--embedding", "8", "--epochs", "1"],
            new StringWriter(), err);
        Assert.True(code == 0, err.ToString());
        return model;
    }

    [TheoryNeeding("ffmpeg")]
    [InlineData("out.flac", AudioContainer.Flac)]
    [InlineData("out.mp3", AudioContainer.Mp3)]
    [InlineData("out.ogg", AudioContainer.Ogg)]
    public void The_extension_chooses_the_format(string name, AudioContainer container)
    {
        using var temp = new TempFolder();
        string model = TrainedModel(temp, out string seed);
        var err = new StringWriter();
        Assert.True(Host.Program.Run(["generate", "--model", model, "--seed", seed, "--seconds", "2", "--out", temp.File(name)], new StringWriter(), err) == 0, err.ToString());
        Assert.Equal(container, AudioFile.Detect(temp.File(name)));
        Assert.InRange(AudioFile.Read(temp.File(name)).Seconds, 1.9, 2.2);   // MP3 pads a little
    }

    [Fact]
    public void An_unknown_extension_is_refused_before_any_work()
    {
        using var temp = new TempFolder();
        string model = TrainedModel(temp, out string seed);
        var err = new StringWriter();
        Assert.Equal(1, Host.Program.Run(["generate", "--model", model, "--seed", seed, "--out", temp.File("out.aac")], new StringWriter(), err));
        Assert.Contains("out.aac: unknown output format '.aac' (write .wav, .flac, .mp3 or .ogg)", err.ToString());
        Assert.False(File.Exists(temp.File("out.aac")));
    }

    [Fact]
    public void A_dash_writes_one_take_as_WAV_to_standard_output()
    {
        using var temp = new TempFolder();
        string model = TrainedModel(temp, out string seed);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "musicgen.dll"), "generate", "--model", model, "--seed", seed, "--seconds", "1", "--out", "-" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var bytes = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(bytes);
        string err = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000));
        Assert.True(process.ExitCode == 0, err);
        bytes.Position = 0;
        Assert.Equal(8000, WavReader.Read(bytes, "stdout").Length);
        Assert.Contains("standard output", err);
        Assert.False(File.Exists(Path.Combine(Directory.GetCurrentDirectory(), "-")));
    }
}
