namespace MusicGen.Transforms.Audio;

/// <summary>Decoded audio: one float array per channel (planar), full scale in [-1, 1).</summary>
public sealed class AudioClip
{
    /// <summary>Creates a clip from planar channel data; every channel must have the same length.</summary>
    /// <param name="sampleRate">Samples per second per channel.</param>
    /// <param name="channels">One array per channel.</param>
    /// <param name="warning">A note about the source (for example that it was truncated), or null.</param>
    public AudioClip(int sampleRate, float[][] channels, string? warning = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Length == 0)
            throw new ArgumentException("A clip needs at least one channel.", nameof(channels));
        foreach (var c in channels)
        {
            if (c.Length != channels[0].Length)
                throw new ArgumentException("All channels must have the same length.", nameof(channels));
        }
        SampleRate = sampleRate;
        Channels = channels;
        Warning = warning;
    }

    /// <summary>Samples per second per channel.</summary>
    public int SampleRate { get; }

    /// <summary>Planar samples: <c>Channels[c][i]</c> is sample i of channel c.</summary>
    public float[][] Channels { get; }

    /// <summary>Number of channels.</summary>
    public int ChannelCount => Channels.Length;

    /// <summary>Samples per channel.</summary>
    public int Length => Channels[0].Length;

    /// <summary>Duration in seconds.</summary>
    public double Seconds => (double)Length / SampleRate;

    /// <summary>A note about how the source was read (for example truncation), or null.</summary>
    public string? Warning { get; }

    /// <summary>How the source stored its samples, where known (for example "PCM 16-bit"), or null.</summary>
    public string? Encoding { get; init; }

    /// <summary>
    /// Returns this clip with <paramref name="channels"/> channels: mono is copied to both sides of stereo, stereo is
    /// averaged to mono, and more channels are mixed down with the ITU-R BS.775 weights (front 1, centre and
    /// surrounds 0.707, LFE dropped) for the usual WAV channel order (FL FR FC LFE BL BR).
    /// </summary>
    public AudioClip WithChannels(int channels)
    {
        if (channels is not (1 or 2))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Only 1 or 2 channels are supported.");
        if (channels == ChannelCount) return this;
        var (left, right) = ChannelCount switch
        {
            1 => (Channels[0], Channels[0]),
            2 => (Channels[0], Channels[1]),
            _ => MixDownToStereo(),
        };
        if (channels == 2)
            return new AudioClip(SampleRate, [ReferenceEquals(left, right) ? (float[])left.Clone() : left, right], Warning) { Encoding = Encoding };
        var mono = new float[Length];
        for (int i = 0; i < mono.Length; i++) mono[i] = 0.5f * (left[i] + right[i]);
        return new AudioClip(SampleRate, [mono], Warning) { Encoding = Encoding };
    }

    private (float[] Left, float[] Right) MixDownToStereo()
    {
        const float Side = 0.70710677f;
        var l = new float[Length];
        var r = new float[Length];
        var ch = Channels;
        for (int i = 0; i < Length; i++)
        {
            float centre = ch.Length > 2 ? ch[2][i] * Side : 0f;
            float bl = ch.Length > 4 ? ch[4][i] * Side : 0f;
            float br = ch.Length > 5 ? ch[5][i] * Side : 0f;
            l[i] = ch[0][i] + centre + bl;
            r[i] = ch[1][i] + centre + br;
        }
        return (l, r);
    }
}
