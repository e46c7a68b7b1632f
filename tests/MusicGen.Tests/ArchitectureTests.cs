namespace MusicGen.Tests;

/// <summary>The rooms of docs/architecture.md keep their walls.</summary>
public class ArchitectureTests
{
    private static string Repository() => QuickStartSampleTests.RepositoryRoot();

    [Theory]
    [InlineData("src/Transforms/Audio")]
    [InlineData("src/Transforms/Spectral")]
    [InlineData("src/Transforms/IO")]
    [InlineData("src/Transforms/Torch")]
    public void The_DSP_core_uses_no_ML_NET(string folder)
    {
        var files = Directory.GetFiles(Path.Combine(Repository(), folder), "*.cs");
        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.DoesNotContain("Microsoft.ML", File.ReadAllText(f)));
    }

    [Fact]
    public void The_libraries_do_not_pull_plotting()
    {
        foreach (var assembly in new[] { typeof(MusicGenerator).Assembly, typeof(Transforms.AudioLoadingTransformer).Assembly })
            Assert.DoesNotContain(assembly.GetReferencedAssemblies(), a => a.Name!.StartsWith("ScottPlot", StringComparison.Ordinal) || a.Name!.StartsWith("SkiaSharp", StringComparison.Ordinal));
    }
}
