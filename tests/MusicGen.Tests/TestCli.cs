namespace MusicGen.Tests;

/// <summary>The command line run in process, for the tests that drive it as a user would.</summary>
internal static class TestCli
{
    /// <summary>The default (token) preset's training flags, made tiny.</summary>
    public static readonly string[] TinyModel = ["--frame-size", "256", "--hop", "64", "--tokens", "16", "--mel-bands", "16", "--sample-rate", "8000",
        "--batch-size", "2", "--sequence-length", "8", "--layers", "1", "--hidden", "16", "--embedding", "8", "--epochs", "2"];

    /// <summary>Runs <c>musicgen</c> with <paramref name="args"/>: its exit code, standard output and standard error.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Host.Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Asserts exit code 0, with the command's error output as the message (a rare internal error says what it was).</summary>
    public static void Succeeded((int Code, string Out, string Err) run) => Assert.True(run.Code == 0, $"exit code {run.Code}: {run.Err}");
}
