using MusicGen.Transforms.Audio;
using MusicGen.Transforms.Model;
using static TorchSharp.torch;

namespace MusicGen.Estimators;

/// <summary>
/// A training checkpoint: the epochs done, the network's weights, the optimizer's state and torch's random state, in
/// one file written atomically, with a fingerprint of the options it belongs to. Damaged files are refused by name.
/// </summary>
internal static class Checkpoint
{
    private const string Magic = "MusicGen checkpoint 1";

    public static void Save(string path, FrameLstm network, AdamOptimizer optimizer, int epoch, string fingerprint) =>
        AtomicFile.Write(path, tmp =>
        {
            using var writer = new BinaryWriter(File.Create(tmp));
            writer.Write(Magic);
            writer.Write(fingerprint);
            writer.Write(epoch);
            var weights = new MemoryStream();
            network.save(weights); // closes the stream; ToArray still works
            var weightBytes = weights.ToArray();
            writer.Write((long)weightBytes.Length);
            writer.Write(weightBytes);
            optimizer.Save(writer);
            using var state = get_rng_state();
            var bytes = state.data<byte>().ToArray();
            writer.Write(bytes.Length);
            writer.Write(bytes);
            writer.Write(Magic); // a truncated file lacks this
        });

    /// <summary>Restores a checkpoint into the network and optimizer; returns the number of epochs it had finished.</summary>
    /// <exception cref="InvalidDataException">The file is damaged or belongs to other options.</exception>
    public static int Load(string path, FrameLstm network, AdamOptimizer optimizer, string fingerprint)
    {
        string name = Path.GetFileName(path);
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            if (reader.ReadString() != Magic) throw new InvalidDataException($"{name}: not a MusicGen checkpoint");
            string written = reader.ReadString();
            if (written != fingerprint)
                throw new InvalidDataException($"{name}: written for other training options ({written}), not these ({fingerprint})");
            int epoch = reader.ReadInt32();
            long size = reader.ReadInt64();
            if (size <= 0 || size > reader.BaseStream.Length) throw new InvalidDataException($"{name}: damaged (weights of {size} bytes)");
            using (var weights = new MemoryStream(reader.ReadBytes((int)size)))
                network.load(weights);
            optimizer.Load(reader);
            int stateSize = reader.ReadInt32();
            if (stateSize <= 0 || stateSize > 1 << 20) throw new InvalidDataException($"{name}: damaged (random state of {stateSize} bytes)");
            var bytes = reader.ReadBytes(stateSize);
            if (reader.ReadString() != Magic) throw new InvalidDataException($"{name}: damaged (no end marker)");
            using var state = tensor(bytes, ScalarType.Byte);
            set_rng_state(state);
            return epoch;
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or IOException or System.Runtime.InteropServices.ExternalException)
        {
            throw new InvalidDataException($"{name}: damaged or truncated checkpoint ({e.Message})", e);
        }
    }
}
