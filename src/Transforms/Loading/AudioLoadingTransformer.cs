using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Data;

namespace MusicGen.Transforms;

/// <summary>
/// Decodes the audio file named in each row. Adds three columns to the input: samples (a variable-length vector of
/// Single, planar: all of channel 0, then all of channel 1), the sample rate and the channel count. Every file is
/// brought to the fitted channel count and resampled to the fitted sample rate (<see cref="Resampler"/>; nothing is
/// resampled when the rates match).
/// Produced by <c>mlContext.Transforms.LoadAudio</c>.
/// </summary>
public sealed class AudioLoadingTransformer : MusicGenTransformerBase
{
    internal const string LoaderSignature = "MusicGenAudioLoading";
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Resampler> resamplers = new();

    internal AudioLoadingTransformer(string inputColumnName, string samplesColumnName, string sampleRateColumnName,
        string channelsColumnName, int sampleRate, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        if (channels is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 or 2.");
        InputColumnName = inputColumnName;
        SamplesColumnName = samplesColumnName;
        SampleRateColumnName = sampleRateColumnName;
        ChannelsColumnName = channelsColumnName;
        SampleRate = sampleRate;
        Channels = channels;
    }

    /// <summary>The text column with file paths.</summary>
    public string InputColumnName { get; }

    /// <summary>The output column of planar samples.</summary>
    public string SamplesColumnName { get; }

    /// <summary>The output column of sample rates.</summary>
    public string SampleRateColumnName { get; }

    /// <summary>The output column of channel counts.</summary>
    public string ChannelsColumnName { get; }

    /// <summary>The sample rate every file is brought to.</summary>
    public int SampleRate { get; }

    /// <summary>The channel count every file is converted to (1 or 2).</summary>
    public int Channels { get; }

    /// <summary>Decodes one file and brings it to this transformer's channel count and sample rate.</summary>
    /// <exception cref="InvalidDataException">The file cannot be decoded.</exception>
    public AudioClip Load(string path) => Load(path, 0, null);

    /// <summary>Decodes part of a file (see <see cref="AudioFile.Read(string, double, double?)"/>) at the model's rate and channels.</summary>
    public AudioClip Load(string path, double start, double? length)
    {
        var clip = AudioFile.Read(path, start, length).WithChannels(Channels);
        if (clip.SampleRate == SampleRate) return clip;
        var resampler = resamplers.GetOrAdd(clip.SampleRate, rate => new Resampler(rate, SampleRate));
        return resampler.Process(clip);
    }

    /// <inheritdoc/>
    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        SchemaCheck.RequireText(inputSchema, InputColumnName);
        return ColumnDef<AudioClip>.Schema(Columns(), inputSchema);
    }

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        var path = SchemaCheck.RequireText(input.Schema, InputColumnName);
        return new AppendColumnsDataView<AudioClip>(input, Columns(), () => Decode(input, path));
    }

    private IEnumerable<AudioClip> Decode(IDataView input, DataViewSchema.Column pathColumn)
    {
        using var cursor = input.GetRowCursor([pathColumn]);
        var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(pathColumn);
        ReadOnlyMemory<char> path = default;
        while (cursor.MoveNext())
        {
            getPath(ref path);
            yield return Load(path.ToString());
        }
    }

    private ColumnDef<AudioClip>[] Columns() =>
    [
        ColumnDef<AudioClip>.Vector(SamplesColumnName, 0, Planar),
        ColumnDef<AudioClip>.Int32(SampleRateColumnName, c => c.SampleRate),
        ColumnDef<AudioClip>.Int32(ChannelsColumnName, c => c.ChannelCount),
    ];

    private static ReadOnlyMemory<float> Planar(AudioClip clip)
    {
        if (clip.ChannelCount == 1) return clip.Channels[0];
        var all = new float[clip.Length * clip.ChannelCount];
        for (int c = 0; c < clip.ChannelCount; c++) clip.Channels[c].CopyTo(all, c * clip.Length);
        return all;
    }

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    private static VersionInfo GetVersionInfo() => MakeVersion("MGAUDLOD", LoaderSignature, typeof(AudioLoadingTransformer));

    private protected override void SaveModel(BinaryWriter writer, ModelSaveContext ctx)
    {
        writer.Write(InputColumnName);
        writer.Write(SamplesColumnName);
        writer.Write(SampleRateColumnName);
        writer.Write(ChannelsColumnName);
        writer.Write(SampleRate);
        writer.Write(Channels);
    }

    private static AudioLoadingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var r = ctx.Reader;
        return new AudioLoadingTransformer(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadInt32());
    }
}
