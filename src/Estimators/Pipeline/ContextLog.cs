using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MusicGen;

/// <summary>
/// Messages from MusicGen's fits to <see cref="MLContext.Log"/> (source "MusicGen; fit"), as ML.NET's own components send
/// theirs: the files held out, each epoch's losses and every warning. The catalog keeps its context's environment
/// behind an internal interface of ML.NET (pinned to one version, docs/design.md); without it nothing is logged.
/// </summary>
internal sealed class ContextLog
{
    private readonly IChannel channel;

    // One channel for the life of the pipeline (ML.NET traces each channel's start and end).
    private ContextLog(IHost host) => channel = host.Start("fit");

    /// <summary>The log of the MLContext behind <paramref name="catalog"/>, or null when it cannot be reached.</summary>
    public static ContextLog? Of(TransformsCatalog catalog)
    {
        var environment = typeof(TransformsCatalog).GetInterfaces().FirstOrDefault(i => i.Name == "IInternalCatalog")
            ?.GetProperty("Environment")?.GetValue(catalog) as IHostEnvironment;
        return environment is null ? null : new ContextLog(environment.Register("MusicGen"));
    }

    public void Info(string message) => Send(ChannelMessageKind.Info, message);

    public void Warning(string message) => Send(ChannelMessageKind.Warning, message);

    private void Send(ChannelMessageKind kind, string message) => channel.Send(new ChannelMessage(kind, MessageSensitivity.None, message));
}
