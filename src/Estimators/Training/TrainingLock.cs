using System.Diagnostics;
using System.Globalization;

namespace MusicGen.Estimators;

/// <summary>
/// One training per model path: <c>MODEL.lock</c> holds the process id and start time of the run writing that model,
/// and is removed when the run ends however it ends (a killed run's lock is recognised as stale by its process id and
/// start time, and taken over).
/// </summary>
public sealed class TrainingLock : IDisposable
{
    private readonly string path;

    private TrainingLock(string path) => this.path = path;

    /// <summary>Where the lock of <paramref name="modelPath"/> is kept.</summary>
    public static string PathOf(string modelPath) => modelPath + ".lock";

    /// <summary>Takes the lock of <paramref name="modelPath"/>.</summary>
    /// <exception cref="InvalidOperationException">Another running process holds it; the message names the process.</exception>
    public static TrainingLock Acquire(string modelPath)
    {
        string path = PathOf(modelPath);
        var self = Process.GetCurrentProcess();
        string owner = $"{Environment.ProcessId} {self.StartTime.ToUniversalTime().Ticks.ToString(CultureInfo.InvariantCulture)}";
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
                using (var writer = new StreamWriter(stream))
                    writer.Write(owner);
                return new TrainingLock(path);
            }
            catch (IOException) when (File.Exists(path))
            {
                if (Holder(path) is { } pid)
                    throw new InvalidOperationException($"{modelPath}: another training (process {pid}) is writing this model; wait for it to end or stop it");
                File.Delete(path); // stale: its process has ended
            }
        }
        throw new IOException($"{path}: cannot take the training lock");
    }

    /// <summary>The live process that holds the lock at <paramref name="path"/>, or null when the lock is stale or unreadable.</summary>
    private static int? Holder(string path)
    {
        string[] fields;
        try
        {
            fields = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return null;
        }
        if (fields.Length != 2 || !int.TryParse(fields[0], CultureInfo.InvariantCulture, out int pid) || !long.TryParse(fields[1], CultureInfo.InvariantCulture, out long ticks))
            return null;
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.StartTime.ToUniversalTime().Ticks == ticks ? pid : null; // the same id reused by another program is not the holder
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left behind, it is recognised as stale next time.
        }
    }
}
