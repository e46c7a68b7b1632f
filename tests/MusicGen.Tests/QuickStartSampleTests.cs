using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

/// <summary>The README's C# example is samples/QuickStart/Program.cs; it must run, and the README must show it verbatim.</summary>
public class QuickStartSampleTests
{
    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MusicGen.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("MusicGen.sln not found above the test binaries.");
    }

    [Fact]
    public void Sample_trains_saves_reloads_and_generates()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp, count: 3, sampleRate: 22050, seconds: 12);
        string output = temp.Sub("out");
        QuickStart.Program.Main([songs, output]);
        Assert.True(File.Exists(Path.Combine(output, "model.zip")));
        Assert.Equal(5 * 22050, WavReader.Read(Path.Combine(output, "continued.wav")).Length);
    }

    [Fact]
    public void Readme_shows_the_sample_verbatim()
    {
        string root = RepositoryRoot();
        string sample = File.ReadAllText(Path.Combine(root, "samples", "QuickStart", "Program.cs")).ReplaceLineEndings("\n").Trim();
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        Assert.Contains("```csharp\n" + sample + "\n```", readme);
    }
}
