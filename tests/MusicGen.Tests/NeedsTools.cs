using MusicGen.Transforms.Audio;

namespace MusicGen.Tests;

/// <summary>The tools a test needs that the .NET SDK does not bring, and why a test is skipped without them.</summary>
internal static class NeedsTools
{
    /// <summary>Null when every tool is on the PATH, else the skip reason naming the missing ones and how to install them.</summary>
    public static string? Missing(string[] tools)
    {
        var missing = tools.Where(t => !ExternalDecoder.IsInstalled(t)).ToList();
        return missing.Count == 0 ? null
            : $"needs {string.Join(" and ", missing)}, which is not installed (apt-get install ffmpeg sox libsox-fmt-all; .ci/run installs them)";
    }
}

/// <summary>A fact skipped, with the reason shown, when a tool it needs (ffmpeg, sox) is not installed.</summary>
public sealed class FactNeedingAttribute : FactAttribute
{
    /// <summary>A fact that needs <paramref name="tools"/> on the PATH.</summary>
    public FactNeedingAttribute(params string[] tools) => Skip = NeedsTools.Missing(tools);
}

/// <summary>A theory skipped, with the reason shown, when a tool it needs (ffmpeg, sox) is not installed.</summary>
public sealed class TheoryNeedingAttribute : TheoryAttribute
{
    /// <summary>A theory that needs <paramref name="tools"/> on the PATH.</summary>
    public TheoryNeedingAttribute(params string[] tools) => Skip = NeedsTools.Missing(tools);
}
