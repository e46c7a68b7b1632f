using System.CommandLine;
using System.Diagnostics;
using Microsoft.Data.Analysis;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.IO;
using Spectre.Console;

namespace MusicGen.Host.Commands;

/// <summary><c>musicgen inspect</c>: what is in a folder before training on it.</summary>
internal static class InspectCommand
{
    public static Command Create(Cli cli)
    {
        var paths = new Argument<string[]>("paths") { Description = "Audio files or folders (searched recursively)", Arity = ArgumentArity.OneOrMore };
        var csv = new Option<string?>("--csv") { Description = "Also write the table as CSV to this file" };
        var plots = new Option<string?>("--plots") { Description = "Write a waveform and a spectrogram PNG per file into this folder" };
        var command = new Command("inspect", "Show format, levels, clipping, silence and spectrum of every file, with warnings") { paths, csv, plots };
        command.SetAction(r => cli.Guard(_ => Run(cli, r.GetValue(paths)!, r.GetValue(csv), r.GetValue(plots))));
        return command;
    }

    internal static int Run(Cli cli, IReadOnlyList<string> paths, string? csvPath, string? plotFolder)
    {
        var files = AudioFile.Expand(paths);
        var outputs = new List<string>();
        if (csvPath is not null) outputs.Add(csvPath);
        if (plotFolder is not null)
            outputs.AddRange(files.SelectMany(f => new[] { Path.Combine(plotFolder, Path.GetFileName(f) + ".waveform.png"), Path.Combine(plotFolder, Path.GetFileName(f) + ".spectrogram.png") }));
        OutputGuard.Check(outputs, files);
        foreach (var output in outputs.Take(1)) OutputGuard.CheckWritable(output);
        var clock = Stopwatch.StartNew();
        bool live = !Console.IsErrorRedirected && ReferenceEquals(cli.Error, Console.Error);
        var table = AudioDataset.Inspect(paths, (done, total, file) =>
        {
            if (live) cli.Error.Write($"\rinspecting {done + 1}/{total}: {Path.GetFileName(file)}".PadRight(79)[..79]);
            else if (total >= 20 && done % Math.Max(1, total / 10) == 0) cli.Error.WriteLine($"inspecting {done + 1}/{total}...");
        });
        if (live) cli.Error.Write("\r" + new string(' ', 79) + "\r");
        double elapsed = clock.Elapsed.TotalSeconds;
        if (table.Rows.Count == 0) throw new InvalidDataException($"No audio files in {string.Join(", ", paths)}.");

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(cli.Out), Ansi = AnsiSupport.Detect, ColorSystem = ColorSystemSupport.Detect });
        // The terminal's own width (Spectre assumes 80 for a writer it did not open); a file or a pipe gets 200.
        int width = ReferenceEquals(cli.Out, Console.Out) && !Console.IsOutputRedirected ? TerminalWidth() : 200;
        console.Profile.Width = width;
        string[] headers = ["file", "format", "Hz", "ch", "seconds", "peak dBFS", "RMS dBFS", "clipped %", "silent %", "centroid Hz", "status"];
        var rows = new List<string[]>();
        for (long i = 0; i < table.Rows.Count; i++)
        {
            var row = table.Rows[i];
            string F(string column, string format) => table[column][i] is double d ? d.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "";
            rows.Add([Path.GetFileName((string)row[0]), row[2] is string e && !e.StartsWith("decoded", StringComparison.Ordinal) ? $"{row[1]} {e}" : $"{row[1]}", $"{row[3]}", $"{row[4]}",
                F("Seconds", "F1"), F("PeakDbfs", "F1"), F("RmsDbfs", "F1"), Percent(table["ClippedShare"][i]), Percent(table["SilentShare"][i]),
                F("CentroidMeanHz", "F0"), (string)row[13]]);
        }
        // Too narrow for every column: leave out the least telling ones (all of them are in --csv) rather than break words.
        var shown = Enumerable.Range(0, headers.Length).ToList();
        int Needed() => shown.Sum(c => Math.Min(rows.Max(r => r[c].Length), c is 0 or 1 or 10 ? 40 : 12) is var w ? Math.Max(w, headers[c].Length) + 3 : 0) + 2;
        var hidden = new List<string>();
        foreach (int drop in new[] { 9, 8, 3, 2, 7, 6 })
        {
            if (Needed() <= width) break;
            shown.Remove(drop);
            hidden.Add(headers[drop]);
        }
        var grid = new Table().Border(TableBorder.Simple);
        foreach (int c in shown)
        {
            // Numbers never break; names and texts wrap between words.
            var column = new TableColumn(headers[c]);
            if (c is not (0 or 1 or 10)) column.NoWrap().RightAligned();
            grid.AddColumn(column);
        }
        foreach (var row in rows) grid.AddRow(shown.Select(c => Markup.Escape(row[c])).ToArray());
        console.Write(grid);
        if (hidden.Count > 0) cli.Out.WriteLine($"(left out to fit {width} columns: {string.Join(", ", hidden)}; --csv has every column)");

        var warnings = AudioDataset.Warnings(table);
        int readable = (int)table.Rows.Count - warnings.Count(w => w.StartsWith("undecodable", StringComparison.Ordinal));
        double seconds = Convert.ToDouble(table["Seconds"].Sum(), System.Globalization.CultureInfo.InvariantCulture);
        cli.Out.WriteLine($"{table.Rows.Count} file(s), {readable} readable, {TimeSpan.FromSeconds(seconds):h\\:mm\\:ss} of audio; inspected in {elapsed:F1} s ({seconds / Math.Max(elapsed, 1e-9):F0}x real time).");
        foreach (var w in warnings) cli.Out.WriteLine("warning: " + w);
        if (readable == 0)
        {
            cli.Error.WriteLine($"musicgen: error: none of the {table.Rows.Count} file(s) could be decoded");
            return 1;
        }

        if (csvPath is not null)
        {
            AudioDataset.SaveCsv(table, csvPath);
            cli.Out.WriteLine($"Wrote {csvPath}.");
        }
        if (plotFolder is not null)
        {
            int written = 0;
            for (long i = 0; i < table.Rows.Count; i++)
            {
                if (!((string)table["Status"][i]).StartsWith("error", StringComparison.Ordinal))
                {
                    string file = (string)table["Path"][i];
                    AudioPlots.Save(AudioFile.Read(file), plotFolder, Path.GetFileName(file));
                    written++;
                }
            }
            cli.Out.WriteLine($"Wrote {2 * written} PNG(s) to {plotFolder}.");
        }
        return 0;
    }

    private static int TerminalWidth()
    {
        try
        {
            return Math.Max(Console.WindowWidth, 60);
        }
        catch (IOException)
        {
            return 120;
        }
    }

    private static string Percent(object? share) => share is double d ? (100 * d).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "";
}
