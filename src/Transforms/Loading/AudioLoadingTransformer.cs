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
        string channelsColumnName, int sampleRate, int channels, bool skipUnreadable = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        if (channels is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 or 2.");
        InputColumnName = inputColumnName;
        SamplesColumnName = samplesColumnName;
        SampleRateColumnName = sampleRateColumnName;
        ChannelsColumnName = channelsColumnName;
        SampleRate = sampleRate;
        Channels = channels;
        SkipUnreadable = skipUnreadable;
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
    public AudioClip Load(string path, double start, double? length) => Conform(AudioFile.Read(path, start, length));

    /// <summary>A decoded clip brought to this transformer's channel count and sample rate (the same clip when it already is).</summary>
    public AudioClip Conform(AudioClip clip)
    {
        ArgumentNullException.ThrowIfNull(clip);
        clip = clip.WithChannels(Channels);
        if (clip.SampleRate == SampleRate) return clip;
        var resampler = resamplers.GetOrAdd(clip.SampleRate, rate => new Resampler(rate, SampleRate));
        return resampler.Process(clip);
    }

    /// <summary>
    /// Whether rows whose file cannot be decoded are left out (each reported through <see cref="Warning"/>) instead of
    /// stopping with the file's error. Saved with the model.
    /// </summary>
    public bool SkipUnreadable { get; }

    /// <summary>
    /// Bytes of decoded audio each transformed view keeps, so that the passes of one fit decode every file once
    /// while the whole collection fits (see <see cref="LoadedAudioDataView"/>). Not saved: a loaded model uses the default, 256 MiB.
    /// </summary>
    public long CacheBytes { get; init; } = DefaultCacheBytes;

    /// <summary>The default of <see cref="CacheBytes"/>: 256 MiB.</summary>
    public const long DefaultCacheBytes = 256L << 20;

    /// <summary>
    /// Longest piece of a file a transformed view decodes at once, in seconds (0: whole files). A longer file becomes
    /// consecutive rows of at most this long, with the same path, which later stages read as one file; so memory follows
    /// this setting, not the longest file. Not saved: a loaded model uses the default, 600 s.
    /// </summary>
    public double SegmentSeconds { get; init; } = DefaultSegmentSeconds;

    /// <summary>The default of <see cref="SegmentSeconds"/>: 10 minutes (53 MB at 22050 Hz mono).</summary>
    public const double DefaultSegmentSeconds = 600;

    /// <summary>
    /// Called once per view with one line for each file skipped (with <see cref="SkipUnreadable"/>) or decoded with a
    /// warning (a truncated WAV). Not saved.
    /// </summary>
    public Action<LoadWarning>? Warning { get; init; }

    /// <inheritdoc/>
    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        SchemaCheck.RequireText(inputSchema, InputColumnName);
        return OutputSchema(inputSchema);
    }

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        var path = SchemaCheck.RequireText(input.Schema, InputColumnName);
        return new LoadedAudioDataView(input, this, path, OutputSchema(input.Schema));
    }

    private DataViewSchema OutputSchema(DataViewSchema inputSchema)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(SamplesColumnName, new VectorDataViewType(NumberDataViewType.Single));
        builder.AddColumn(SampleRateColumnName, NumberDataViewType.Int32);
        builder.AddColumn(ChannelsColumnName, NumberDataViewType.Int32);
        return builder.ToSchema();
    }

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    /// <summary>Format history: 1, columns, rate and channels; 2 adds <see cref="SkipUnreadable"/> (format 1 loads as false).</summary>
    private static VersionInfo GetVersionInfo() => MakeVersion("MGAUDLOD", LoaderSignature, typeof(AudioLoadingTransformer), format: 2);

    private protected override void SaveModel(BinaryWriter writer, ModelSaveContext ctx)
    {
        writer.Write(InputColumnName);
        writer.Write(SamplesColumnName);
        writer.Write(SampleRateColumnName);
        writer.Write(ChannelsColumnName);
        writer.Write(SampleRate);
        writer.Write(Channels);
        writer.Write(SkipUnreadable);
    }

    private static AudioLoadingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        int format = CheckFormat(ctx, GetVersionInfo(), "audio-loading");
        var r = ctx.Reader;
        return new AudioLoadingTransformer(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadInt32(),
            skipUnreadable: format >= 2 && r.ReadBoolean());
    }
}
