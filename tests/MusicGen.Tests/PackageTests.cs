using System.Diagnostics;

namespace MusicGen.Tests;

/// <summary>
/// The packages as a .NET developer meets them (tests/package/consume.sh): MusicGen.Transforms, MusicGen.Estimators
/// and the musicgen tool are packed into a local feed; a fresh console project with no properties of its own runs
/// README's C# program against them, and the tool installed from the feed runs <c>musicgen demo</c> under a collector
/// that runs all the time (GcStressTests: in a Release build a temporary handed to LibTorch can be finalized mid-call).
/// Slow (2-4 minutes): <c>dotnet test --filter Category=Package</c> runs it alone, and `.ci/run` runs it with the rest.
/// </summary>
[Trait("Category", "Package")]
public class PackageTests
{
    [Fact]
    public async Task Packed_libraries_run_the_readme_program_in_a_new_project_and_the_tool_runs_its_demo()
    {
        using var temp = new TempFolder();
        string root = QuickStartSampleTests.RepositoryRoot();
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(root, "tests", "package", "consume.sh"));
        start.ArgumentList.Add(temp.File("work"));
        // The test host's own MSBuild and runtime settings must not leak into the nested dotnet commands.
        foreach (var name in new[] { "MSBuildSDKsPath", "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "DOTNET_HOST_PATH", "VSTEST_HOST_DEBUG" })
            start.Environment.Remove(name);
        // The packed (Release) tool's demo runs under constant garbage collection (GcStressTests, StartupHook).
        start.Environment["STRESS_HOOK"] = typeof(global::StartupHook).Assembly.Location;
        start.Environment["MUSICGEN_DEBUG"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        await process.WaitForExitAsync(limit.Token);
        string log = await output + await error;
        Assert.True(process.ExitCode == 0, $"consume.sh failed ({process.ExitCode}):\n{log[Math.Max(0, log.Length - 4000)..]}");
        Assert.Contains("Wrote " + temp.File("work/app/out/continued.wav"), log);
        Assert.Contains("consume.sh: the packages built and ran README's program and musicgen demo", log);
        Assert.Contains("[gc stress]", log);
    }
}
