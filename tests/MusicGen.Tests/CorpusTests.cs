using Xunit.Abstractions;
using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

/// <summary>
/// Opt-in: the real-music corpus of tests/corpus/make_corpus.sh. Set MUSICGEN_CORPUS to its output folder
/// (the one with manifest.tsv); without it this test passes vacuously and says so in its output.
/// </summary>
public class CorpusTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_corpus_file_loads_correctly_or_fails_with_a_named_cause()
    {
        string? root = Environment.GetEnvironmentVariable("MUSICGEN_CORPUS");
        if (string.IsNullOrEmpty(root))
        {
            output.WriteLine("MUSICGEN_CORPUS is not set: corpus check skipped.");
            return;
        }
        var lines = File.ReadAllLines(Path.Combine(root, "manifest.tsv")).Skip(1).Select(l => l.Split('\t')).ToList();
        Assert.NotEmpty(lines);
        foreach (var fields in lines)
        {
            string file = fields[0], expected = fields[6], name = Path.GetFileName(file);
            string path = Path.Combine(root, file);
            try
            {
                var clip = AudioFile.Read(path);
                Assert.True(expected.StartsWith("load", StringComparison.Ordinal), $"{file}: loaded but the manifest expects '{expected}'");
                Assert.True(clip.Length > 0, $"{file}: no samples");
                foreach (var channel in clip.Channels) Assert.All(channel, x => Assert.True(float.IsFinite(x)));
                float peak = clip.Channels.Max(c => c.Length == 0 ? 0 : c.Max(Math.Abs));
                output.WriteLine($"{file}: loaded {clip.Seconds:F2} s, {clip.SampleRate} Hz, {clip.ChannelCount} ch, peak {peak:F3}{(clip.Warning is null ? "" : ", warning: " + clip.Warning)}");
                if (name.StartsWith("b01", StringComparison.Ordinal)) Assert.NotNull(clip.Warning);
                if (name.StartsWith("b10", StringComparison.Ordinal)) Assert.Equal(0f, peak);
                if (name.StartsWith("05", StringComparison.Ordinal)) Assert.True(peak > 1f, "float overs must be kept");
                if (name.StartsWith("b06", StringComparison.Ordinal)) Assert.Equal(3 * 44100, clip.Length);
            }
            catch (InvalidDataException e)
            {
                Assert.True(expected.Contains("error", StringComparison.Ordinal), $"{file}: expected '{expected}' but got: {e.Message}");
                Assert.StartsWith(name + ": ", e.Message);
                output.WriteLine($"{file}: rejected: {e.Message}");
            }
        }
    }
}
