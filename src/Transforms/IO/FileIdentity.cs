using System.Runtime.InteropServices;

namespace MusicGen.Transforms.IO;

/// <summary>
/// Which file a path names, whatever the path: the device and inode on Linux (so a symbolic link, a hard link, a
/// relative path and "./a/../a" all name the same file), else the fully resolved path.
/// </summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode, string? ResolvedPath)
{
    /// <summary>The identity of an existing file or folder; null when <paramref name="path"/> names nothing.</summary>
    public static FileIdentity? Of(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) return null;
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // struct stat on 64-bit Linux begins with st_dev, then st_ino, each 8 bytes (x86-64 and arm64 alike).
                var buffer = new byte[256];
                if (Stat(path, buffer) == 0)
                    return new FileIdentity(BitConverter.ToUInt64(buffer, 0), BitConverter.ToUInt64(buffer, 8), null);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // Not glibc: fall back to the resolved path.
            }
        }
        return new FileIdentity(0, 0, Resolve(path));
    }

    /// <summary>The full path with every symbolic link along it resolved.</summary>
    private static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        var target = info.Exists ? info.ResolveLinkTarget(returnFinalTarget: true) : new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true);
        return target?.FullName ?? full;
    }

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);
}

/// <summary>
/// The one check every command makes before writing: no output may be a file the command reads (the model it loads,
/// a seed, a song it trains on), by any path to it, hard links included; and every output's folder must be writable.
/// </summary>
public static class OutputGuard
{
    /// <summary>Throws when one of <paramref name="outputs"/> names the same file as one of <paramref name="inputs"/>.</summary>
    /// <exception cref="ArgumentException">An output is an input; the message names both.</exception>
    public static void Check(IEnumerable<string> outputs, IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(inputs);
        var read = new Dictionary<FileIdentity, string>();
        foreach (var input in inputs)
            if (FileIdentity.Of(input) is { } id) read.TryAdd(id, input);
        foreach (var output in outputs)
        {
            if (FileIdentity.Of(output) is { } id && read.TryGetValue(id, out var input))
                throw new ArgumentException(Path.GetFullPath(output) == Path.GetFullPath(input)
                    ? $"{output}: this file is also an input; refusing to overwrite it"
                    : $"{output}: this is the input {input} (the same file by another path); refusing to overwrite it");
        }
    }

    /// <summary>Throws when the folder of <paramref name="output"/> does not exist and cannot be made, or cannot be written.</summary>
    /// <exception cref="IOException">The folder cannot be written; the message names it.</exception>
    public static void CheckWritable(string output)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(output))!;
        string probe = Path.Combine(folder, $".musicgen-write-test-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"{output}: cannot write in {folder} ({e.Message})", e);
        }
    }
}
