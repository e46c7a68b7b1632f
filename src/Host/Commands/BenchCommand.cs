using System.CommandLine;
using System.Diagnostics;
using MusicGen.Transforms.Audio;

namespace MusicGen.Host.Commands;

/// <summary><c>musicgen bench</c>: measures what the README quotes.</summary>
internal static class BenchCommand
{
    public static Command Create(Cli cli)
    {
        var paths = new Argument<string[]>("paths") { Description = "Audio files or folders", Arity = ArgumentArity.OneOrMore };
        var repeat = Cli.Option("--repeat", "Decode every file this many times", 3);
        var decode = new Command("decode", "Decode throughput: seconds of audio decoded per second, per container") { paths, repeat };
        decode.SetAction(r => cli.Guard(_ => Decode(cli, r.GetValue(paths)!, r.GetValue(repeat))));
        return new Command("bench", "Benchmarks that print figures") { decode };
    }

    private static int Decode(Cli cli, IReadOnlyList<string> paths, int repeat)
    {
        var totals = new SortedDictionary<AudioContainer, (double Audio, double Wall, int Files)>();
        foreach (var file in AudioFile.Expand(paths))
        {
            var container = AudioFile.Detect(file);
            try
            {
                AudioFile.Read(file); // warm the page cache and the decoder binary
                var clock = Stopwatch.StartNew();
                double audio = 0;
                for (int i = 0; i < repeat; i++) audio += AudioFile.Read(file).Seconds;
                var t = totals.GetValueOrDefault(container);
                totals[container] = (t.Audio + audio, t.Wall + clock.Elapsed.TotalSeconds, t.Files + 1);
            }
            catch (InvalidDataException e)
            {
                cli.Error.WriteLine($"musicgen: warning: skipping {e.Message}");
            }
        }
        cli.Out.WriteLine($"{"container",-10} {"files",5} {"audio s",9} {"wall s",8} {"x real time",12}");
        foreach (var (container, (audio, wall, files)) in totals)
            cli.Out.WriteLine($"{container,-10} {files,5} {audio,9:F1} {wall,8:F2} {audio / wall,12:F0}");
        return 0;
    }
}
