namespace MusicGen.Transforms.Spectral;

/// <summary>What each feature frame holds.</summary>
public enum Representation
{
    /// <summary>
    /// The 2017 vector: full complex FFT (all N bins) of non-overlapping rectangular frames, real parts then imaginary
    /// parts per channel. Exactly invertible. Hop and window are ignored.
    /// </summary>
    Seed2017,
    /// <summary>Onesided complex STFT (N/2+1 bins): real parts then imaginary parts per channel. Exactly invertible.</summary>
    ComplexSpectrum,
    /// <summary>Natural log of the STFT magnitude plus a floor, N/2+1 values per channel; phase is rebuilt by Griffin-Lim.</summary>
    LogMagnitude,
    /// <summary>
    /// Natural log of mel-band power (HTK mel scale, triangular bands from 0 Hz to Nyquist) plus a floor; inverted
    /// through the filter bank's pseudo-inverse and Griffin-Lim.
    /// </summary>
    LogMel,
}

/// <summary>Analysis window.</summary>
public enum WindowKind
{
    /// <summary>No window.</summary>
    Rectangular,
    /// <summary>Periodic Hann window.</summary>
    Hann,
    /// <summary>Periodic Hamming window.</summary>
    Hamming,
}

/// <summary>Settings of <see cref="SpectralTransform"/>; <see cref="Validate"/> reports every problem at once.</summary>
/// <param name="Representation">What each frame holds.</param>
/// <param name="FrameSize">FFT size N, in samples.</param>
/// <param name="Hop">Samples between frame starts.</param>
/// <param name="Window">Analysis window.</param>
/// <param name="Scale">Factor applied to the FFT (Seed2017: 1/(N/2)).</param>
/// <param name="MelBands">Mel bands (LogMel only).</param>
/// <param name="LogFloor">Added before the log (magnitude for LogMagnitude, power for LogMel).</param>
/// <param name="GriffinLimIterations">Phase-reconstruction iterations for the log representations.</param>
public sealed record SpectralSettings(Representation Representation, int FrameSize, int Hop, WindowKind Window, float Scale,
    int MelBands = 80, float LogFloor = 1e-5f, int GriffinLimIterations = 32)
{
    /// <summary>The 2017 framing for frame size <paramref name="frameSize"/>.</summary>
    public static SpectralSettings Seed2017(int frameSize = 256) =>
        new(Representation.Seed2017, frameSize, frameSize, WindowKind.Rectangular, 1f / (frameSize / 2f));

    /// <summary>Throws one <see cref="ArgumentException"/> listing every invalid setting.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(Representation)) problems.Add($"Representation {(int)Representation} is not defined.");
        if (!Enum.IsDefined(Window)) problems.Add($"Window {(int)Window} is not defined.");
        if (FrameSize < 4) problems.Add($"FrameSize must be at least 4, not {FrameSize}.");
        if (Hop < 1 || Hop > FrameSize) problems.Add($"Hop must be between 1 and the frame size {FrameSize}, not {Hop}.");
        if (Scale == 0 || !float.IsFinite(Scale)) problems.Add($"Scale must be finite and non-zero, not {Scale}.");
        if (Representation == Representation.LogMel && (MelBands < 1 || MelBands > FrameSize / 2 + 1))
            problems.Add($"MelBands must be between 1 and {FrameSize / 2 + 1}, not {MelBands}.");
        if (!(LogFloor > 0) || !float.IsFinite(LogFloor)) problems.Add($"LogFloor must be positive, not {LogFloor}.");
        if (GriffinLimIterations < 0) problems.Add($"GriffinLimIterations must be 0 or more, not {GriffinLimIterations}.");
        if (Representation != Representation.Seed2017 && Window == WindowKind.Rectangular && Hop != FrameSize)
            problems.Add("A rectangular window needs Hop equal to FrameSize (overlapping rectangular frames do not overlap-add to a constant).");
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
    }

    /// <summary>Onesided bins per channel.</summary>
    public int Bins => FrameSize / 2 + 1;

    internal void Write(BinaryWriter w)
    {
        w.Write((int)Representation);
        w.Write(FrameSize);
        w.Write(Hop);
        w.Write((int)Window);
        w.Write(Scale);
        w.Write(MelBands);
        w.Write(LogFloor);
        w.Write(GriffinLimIterations);
    }

    internal static SpectralSettings Read(BinaryReader r) =>
        new((Representation)r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), (WindowKind)r.ReadInt32(), r.ReadSingle(), r.ReadInt32(), r.ReadSingle(), r.ReadInt32());
}
