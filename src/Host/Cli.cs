using System.CommandLine;
using Spectre.Console;
using MusicGen.Estimators;

namespace MusicGen.Host;

/// <summary>What every command shares: where it writes, how it reports progress, and how errors become one line.</summary>
internal sealed class Cli(TextWriter output, TextWriter error)
{
    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Runs a command body; expected failures become one line on stderr and a non-zero exit code.</summary>
    public int Guard(Func<CancellationToken, int> body)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // The first Ctrl+C asks the work to stop at its next safe point (training: after a checkpoint at the end
            // of the current file); a second one ends the process at once.
            if (cancel.IsCancellationRequested) return;
            e.Cancel = true;
            cancel.Cancel();
            Error.WriteLine("musicgen: stopping at the next safe point (Ctrl+C again to quit at once)");
        };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (systemd, docker stop, CI) stops at the same safe point as Ctrl+C, and exits 143.
        bool terminated = false;
        using var onTerminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            terminated = true;
            if (!cancel.IsCancellationRequested)
            {
                cancel.Cancel();
                Error.WriteLine("musicgen: terminated; stopping at the next safe point");
            }
        });
        try
        {
            return body(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Error.WriteLine("musicgen: interrupted");
            return terminated ? 143 : 130;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException
                                      or UnauthorizedAccessException or NotSupportedException)
        {
            Error.WriteLine($"musicgen: error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("MUSICGEN_DEBUG") != "1")
        {
            // A failure nobody foresaw is a bug, but the user still gets one line; MUSICGEN_DEBUG=1 shows the stack.
            Error.WriteLine($"musicgen: internal error ({e.GetType().Name}): {e.Message.Split('\n')[0]} (set MUSICGEN_DEBUG=1 for details)");
            return 70;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Prints training progress: a line per epoch, and a live bar in between (<see cref="WithProgressBar"/>) or a live line when the output is a terminal.</summary>
    private readonly System.Diagnostics.Stopwatch run = System.Diagnostics.Stopwatch.StartNew();
    private int epochsSeen;
    private long framesPerEpoch;

    public void Progress(TrainingProgress p)
    {
        if (p.EpochDone)
        {
            epochsSeen++;
            framesPerEpoch = p.Frames;
        }
        string line = $"epoch {p.Epoch}/{p.Epochs}  {p.Frames,8} frames  {p.FramesPerSecond,7:F0} frames/s  loss {p.Loss:G5}";
        if (p.Validation is { } v)
            line += $"  validation {v.Loss:G5}{(v.Kind == LossKind.CrossEntropy ? " nats" : "")} ({v.RepeatPreviousName} {v.RepeatPrevious:G5}, {v.AverageName} {v.Average:G5})";
        if (p.Validation is { } w && w.Loss >= w.RepeatPrevious) line += "  not beating repeat-previous";
        // Remaining time: the epochs left at the speed so far, and within an epoch the frames left at this epoch's speed.
        // In the first epoch, from this epoch's speed and its known length when the data is in memory.
        double left = epochsSeen == 0
            ? p.EpochFrames is { } total && p.FramesPerSecond > 0 ? (Math.Max(0, total - p.Frames) + (double)total * (p.Epochs - p.Epoch)) / p.FramesPerSecond : double.NaN
            : p.EpochDone ? run.Elapsed.TotalSeconds / epochsSeen * (p.Epochs - p.Epoch)
            : run.Elapsed.TotalSeconds / epochsSeen * (p.Epochs - p.Epoch) + Math.Max(0, framesPerEpoch - p.Frames) / Math.Max(p.FramesPerSecond, 1);
        if (!p.EpochDone && p.EpochFrames is { } all && all > 0) line += $"  {100.0 * p.Frames / all,3:F0}% of the epoch";
        if (double.IsFinite(left) && (p.Epoch < p.Epochs || !p.EpochDone))
            line += $"  ETA {TimeSpan.FromSeconds(left):h\\:mm\\:ss}";
        if (bar is { } live)
        {
            // The bar shows this epoch's frames (its own ETA is the epoch's); the description the whole run's ETA.
            long epochSize = p.EpochFrames ?? framesPerEpoch;
            live.IsIndeterminate = epochSize <= 0;
            live.MaxValue = Math.Max(1, epochSize);
            live.Value = p.EpochDone ? 0 : Math.Min(p.Frames, live.MaxValue);
            live.Description = Markup.Escape($"epoch {(p.EpochDone ? Math.Min(p.Epoch + 1, p.Epochs) : p.Epoch)}/{p.Epochs}  loss {p.Loss:G4}" +
                (double.IsFinite(left) ? $"  all epochs: {TimeSpan.FromSeconds(left):h\\:mm\\:ss} left" : ""));
            if (p.EpochDone) AnsiConsole.WriteLine(line);
        }
        else if (p.EpochDone) Out.WriteLine(line.PadRight(79));
        else if (!Console.IsOutputRedirected && ReferenceEquals(Out, Console.Out)) Out.Write("\r" + line + "\r");
    }

    private ProgressTask? bar;

    /// <summary>
    /// Runs <paramref name="work"/> (a fit) under a live progress bar with the epoch's ETA when the output is a
    /// terminal; otherwise as is, and <see cref="Progress"/> prints plain lines.
    /// </summary>
    public T WithProgressBar<T>(string starting, Func<T> work)
    {
        if (Console.IsOutputRedirected || !ReferenceEquals(Out, Console.Out) || !AnsiConsole.Profile.Capabilities.Interactive) return work();
        T result = default!;
        var progress = AnsiConsole.Progress();
        progress.AutoClear = true;
        progress.Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(),
                new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                bar = context.AddTask(Markup.Escape(starting));
                bar.IsIndeterminate = true;
                try
                {
                    result = work();
                }
                finally
                {
                    bar.StopTask();
                    bar = null;
                }
            });
        return result;
    }

    public static Option<T> Option<T>(string name, string description, T defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };
}
