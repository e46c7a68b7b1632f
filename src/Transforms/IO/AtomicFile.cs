namespace MusicGen.Transforms.IO;

/// <summary>
/// Writes a file so that it is either complete or absent: the content goes to a temporary file beside the target
/// (same folder, so the rename stays on one file system), which is then renamed over it. An interrupted write never
/// leaves a broken output and never touches an existing one.
/// </summary>
public static class AtomicFile
{
    /// <summary>Calls <paramref name="write"/> with a temporary path, then renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + $".{Environment.ProcessId}.partial{Path.GetExtension(full)}";
        try
        {
            write(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
