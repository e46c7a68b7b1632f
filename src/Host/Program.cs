using System.CommandLine;
using MusicGen.Host.Commands;

namespace MusicGen.Host;

/// <summary>The <c>musicgen</c> command: wires the subcommands and runs one.</summary>
public static class Program
{
    /// <summary>Runs the command line; returns the exit code (0 on success, 1 on an error, 2 on bad usage, 130 when interrupted, 143 when terminated).</summary>
    public static int Main(string[] args)
    {
        LimitMallocArenas();
        return Run(args, Console.Out, Console.Error);
    }

    /// <summary>
    /// glibc gives each thread that allocates its own malloc arena; with LibTorch's worker threads that grew resident
    /// memory during training to 1.5-2.6 GB (docs/design.md). Two arenas keep it near the data's size.
    /// </summary>
    private static void LimitMallocArenas()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            _ = Mallopt(-8 /* M_ARENA_MAX */, 2);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: nothing to tune.
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);

    /// <summary>Runs the command line with the given output writers (used by the tests).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var console = new Cli(output, error);
        var root = new RootCommand("musicgen: learn from your own recordings and generate audio that continues a seed song.")
        {
            TrainCommand.Create(console),
            GenerateCommand.Create(console),
            DemoCommand.Create(console),
            InspectCommand.Create(console),
            EvaluateCommand.Create(console),
            EvaluateCommand.CreateReconstruct(console),
            BenchCommand.Create(console),
            InfoCommand.Create(console),
        };
        Help.Install(root);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 && parsed.Action is not Help)
        {
            // Bad usage: the problems in words, and exit code 2 (as README says), without the whole help text.
            foreach (var problem in parsed.Errors) error.WriteLine($"musicgen: error: {InWords(problem.Message)}");
            string command = parsed.CommandResult.Command == root ? "" : parsed.CommandResult.Command.Name + " ";
            error.WriteLine($"Run 'musicgen {command}--help' for usage.");
            return 2;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    /// <summary>A parse error without .NET type names ("--epochs: 'abc' is not a whole number").</summary>
    internal static string InWords(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, @"Cannot parse argument '(.*)' for option '(.*)' as expected type '(.*)'");
        if (!match.Success) return message;
        string type = match.Groups[3].Value;
        string expected = type.Contains("Int32", StringComparison.Ordinal) || type.Contains("Int64", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Single", StringComparison.Ordinal) || type.Contains("Double", StringComparison.Ordinal) ? "a number"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : "a valid value";
        return $"{match.Groups[2].Value}: '{match.Groups[1].Value}' is not {expected}";
    }
}
