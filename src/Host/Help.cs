using System.CommandLine;
using System.CommandLine.Invocation;
using System.Text;

namespace MusicGen.Host;

/// <summary>
/// <c>--help</c> for every command: options grouped (data, model, training, generation, output), each default shown
/// one way ("(default: X)"), examples, and lines wrapped to the terminal (100 columns when not a terminal).
/// </summary>
internal sealed class Help(Command root) : SynchronousCommandLineAction
{
    private static readonly string[] Groups = ["Data", "Model", "Training", "Generation", "Output", "Other options"];

    private static readonly Dictionary<string, string> GroupOf = new()
    {
        ["--strict"] = "Data", ["--validation"] = "Data", ["--sample-rate"] = "Data", ["--channels"] = "Data", ["--seed"] = "Data",
        ["--seed-offset"] = "Data", ["--skip-intro"] = "Data", ["--prime-seconds"] = "Data", ["--reference"] = "Data", ["--seeds"] = "Data", ["--training"] = "Data",
        ["--in"] = "Data", ["--data"] = "Data", ["--repeat"] = "Data", ["--segment-seconds"] = "Data",
        ["--model"] = "Model", ["--preset"] = "Model", ["--tokens"] = "Model", ["--embedding"] = "Model", ["--layers"] = "Model",
        ["--hidden"] = "Model", ["--dropout"] = "Model", ["--describe-tokens"] = "Model", ["--frame-size"] = "Model", ["--hop"] = "Model",
        ["--window"] = "Model", ["--mel-bands"] = "Model", ["--representation"] = "Model", ["--normalize"] = "Model",
        ["--epochs"] = "Training", ["--batching"] = "Training", ["--batch-size"] = "Training", ["--sequence-length"] = "Training",
        ["--learning-rate"] = "Training", ["--lr-decay"] = "Training", ["--clip"] = "Training", ["--token-noise"] = "Training", ["--relabel-share"] = "Training",
        ["--patience"] = "Training", ["--device"] = "Training", ["--resume"] = "Training", ["--checkpoint-minutes"] = "Training",
        ["--bptt"] = "Training",
        ["--temperature"] = "Generation", ["--top-k"] = "Generation", ["--phase-iterations"] = "Generation", ["--takes"] = "Generation",
        ["--seconds"] = "Generation", ["--random-seed"] = "Generation",
        ["--out"] = "Output", ["--force"] = "Output", ["--preview"] = "Output", ["--json"] = "Output", ["--csv"] = "Output",
        ["--plots"] = "Output", ["--format"] = "Output",
    };

    private static readonly Dictionary<string, string[]> Examples = new()
    {
        ["musicgen"] = ["musicgen demo --out out", "musicgen train ~/Music/loved --model loved.zip", "musicgen generate --model loved.zip --seed song.ogg --out new.wav"],
        ["train"] = ["musicgen train ~/Music/loved --model loved.zip", "musicgen train a.ogg b.mp3 c.flac --model m.zip --epochs 20 --preview a.ogg",
            "musicgen train ~/Music/loved --model loved.zip --resume --epochs 60   # train further"],
        ["generate"] = ["musicgen generate --model loved.zip --seed song.ogg --out new.wav", "musicgen generate -m loved.zip -s song.ogg -o take.flac --takes 3 --seconds 30",
            "musicgen generate -m loved.zip -s song.ogg -o - | aplay   # WAV to stdout"],
        ["demo"] = ["musicgen demo --out out", "musicgen demo --data ~/Music/short --seconds 10 --out out"],
        ["inspect"] = ["musicgen inspect ~/Music/loved", "musicgen inspect ~/Music/loved --csv loved.csv --plots plots"],
        ["evaluate"] = ["musicgen evaluate --model m.zip --reference held-out/ --seeds a.ogg b.ogg --training ~/Music/loved --json m.json"],
        ["reconstruct"] = ["musicgen reconstruct --model m.zip --in song.ogg --out song-through-model.wav"],
        ["info"] = ["musicgen info m.zip", "musicgen info m.zip --json"],
        ["bench"] = ["musicgen bench generate --model m.zip --seed song.ogg", "musicgen bench decode ~/Music/loved", "musicgen bench train"],
    };

    /// <summary>Puts this help on <paramref name="root"/>'s help option (which every subcommand shares).</summary>
    public static void Install(RootCommand root)
    {
        foreach (var option in root.Options.OfType<System.CommandLine.Help.HelpOption>()) option.Action = new Help(root);
    }

    public override int Invoke(ParseResult parseResult)
    {
        var output = parseResult.InvocationConfiguration.Output;
        output.Write(Render(parseResult.CommandResult.Command, Width(output)));
        return 0;
    }

    private static int Width(TextWriter output)
    {
        if (!ReferenceEquals(output, Console.Out) || Console.IsOutputRedirected) return 100;
        try
        {
            return Math.Clamp(Console.WindowWidth, 60, 140);
        }
        catch (IOException)
        {
            return 100;
        }
    }

    /// <summary>The help text of <paramref name="command"/>, wrapped to <paramref name="width"/> columns.</summary>
    internal string Render(Command command, int width)
    {
        var text = new StringBuilder();
        var path = new List<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault()) path.Insert(0, c == root ? "musicgen" : c.Name);
        string usage = string.Join(' ', path);
        foreach (var argument in command.Arguments) usage += argument.Arity.MaximumNumberOfValues > 1 ? $" <{argument.Name}>..." : $" <{argument.Name}>";
        foreach (var required in command.Options.Where(o => o.Required)) usage += $" {required.Name} {Placeholder(required)}";
        if (command.Subcommands.Count > 0) usage += " <command>";
        usage += " [options]";
        text.AppendLine(command.Description);
        text.AppendLine();
        text.AppendLine("Usage:");
        Wrap(text, "  " + usage, 4, width);

        var options = command.Options.Concat(AncestorsRecursiveOptions(command)).Where(o => !o.Hidden).Distinct().ToList();
        // One column for every section, so that the descriptions line up down the whole page.
        var lefts = command.Subcommands.Select(c => c.Name).Concat(command.Arguments.Select(a => $"<{a.Name}>")).Concat(options.Select(Signature));
        int column = Math.Min(lefts.Max(l => l.Length) + 4, Math.Max(24, width / 3));
        if (command.Subcommands.Count > 0)
            Section(text, "Commands", command.Subcommands.Where(c => !c.Hidden).Select(c => (c.Name, c.Description ?? "")), column, width);
        if (command.Arguments.Count > 0)
            Section(text, "Arguments", command.Arguments.Select(a => ($"<{a.Name}>", a.Description ?? "")), column, width);
        foreach (var group in Groups)
        {
            var inGroup = options.Where(o => GroupFor(command, o) == group).ToList();
            if (inGroup.Count > 0) Section(text, group, inGroup.Select(o => (Signature(o), Describe(o))), column, width);
        }
        if (Examples.TryGetValue(command == root ? "musicgen" : command.Name, out var examples) && (command == root || command.Parents.Contains(root)))
        {
            text.AppendLine();
            text.AppendLine("Examples:");
            foreach (var example in examples) Wrap(text, "  " + example, 6, width);
        }
        text.AppendLine();
        Wrap(text, "Exit codes: 0 done, 1 error (one line on stderr), 2 bad usage, 130 interrupted (Ctrl+C), 143 terminated (SIGTERM).", 2, width);
        return text.ToString();
    }

    private static IEnumerable<Option> AncestorsRecursiveOptions(Command command) =>
        command.Parents.OfType<Command>().SelectMany(p => p.Options.Where(o => o.Recursive).Concat(AncestorsRecursiveOptions(p)));

    private static string GroupFor(Command command, Option option)
    {
        if (option.Name == "--model" && command.Name == "train") return "Output"; // train writes the model the others read
        if (option.Name == "--random-seed" && command.Options.Any(o => o.Name == "--epochs")) return "Training";
        return GroupOf.TryGetValue(option.Name, out var group) ? group : "Other options";
    }

    private static string Signature(Option option)
    {
        var names = option.Aliases.Where(a => a.Length == 2 && a[0] == '-' && a[1] != '-').Append(option.Name);
        string value = option.ValueType == typeof(bool) || option.ValueType == typeof(bool?) || option.Arity.MaximumNumberOfValues == 0 ? "" : " " + Placeholder(option);
        return string.Join(", ", names) + value;
    }

    private static string Placeholder(Option option)
    {
        var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
        if (type.IsEnum) return "<" + string.Join('|', Enum.GetNames(type)) + ">";
        var allowed = option.GetCompletions(System.CommandLine.Completions.CompletionContext.Empty).Select(c => c.Label).ToList();
        if (type == typeof(string) && allowed.Count is > 0 and < 8) return "<" + string.Join('|', allowed) + ">";
        return "<" + option.Name.TrimStart('-') + ">";
    }

    private static string Describe(Option option)
    {
        string description = option.Description ?? "";
        if (option.Required) return description + " (required)";
        if (!option.HasDefaultValue || description.Contains("(default", StringComparison.Ordinal)) return description;
        object? value = option.GetDefaultValue();
        if (value is null or false || value is string { Length: 0 }) return description;
        return $"{description} (default: {Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)})";
    }

    private static void Section(StringBuilder text, string title, IEnumerable<(string Left, string Right)> rows, int column, int width)
    {
        var list = rows.ToList();
        text.AppendLine();
        text.AppendLine(title + ":");
        foreach (var (left, right) in list)
        {
            string head = "  " + left;
            if (head.Length + 2 > column)
            {
                text.AppendLine(head);
                head = "";
            }
            Wrap(text, head.PadRight(column) + right, column, width);
        }
    }

    /// <summary>Appends <paramref name="line"/> wrapped at spaces to <paramref name="width"/>, continuation lines indented.</summary>
    private static void Wrap(StringBuilder text, string line, int indent, int width)
    {
        while (line.Length > width)
        {
            int cut = line.LastIndexOf(' ', width);
            if (cut <= indent) cut = line.IndexOf(' ', width) is var next && next > 0 ? next : line.Length;
            text.AppendLine(line[..cut].TrimEnd());
            line = new string(' ', indent) + line[cut..].TrimStart();
            if (line.Trim().Length == 0) return;
        }
        text.AppendLine(line);
    }
}
