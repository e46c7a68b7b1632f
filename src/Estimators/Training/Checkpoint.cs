using MusicGen.Transforms.Audio;
using static TorchSharp.torch;
using MusicGen.Estimators.Training;
using MusicGen.Transforms.IO;
using MusicGen.Transforms.Network;

namespace MusicGen.Estimators.Training;

/// <summary>Where training stands: after an epoch, or within one at the end of a file.</summary>
/// <param name="Epoch">Epochs finished.</param>
/// <param name="BestLoss">Best validation loss so far (infinity without validation).</param>
/// <param name="SinceBest">Epochs since that best one.</param>
/// <param name="Segment">Files (segments) of the next epoch already trained on; 0 at an epoch's end.</param>
/// <param name="LossSum">That partial epoch's summed training loss (weighted by frames).</param>
/// <param name="Frames">That partial epoch's frames trained on.</param>
internal sealed record TrainingPosition(int Epoch, double BestLoss, int SinceBest, int Segment, double LossSum, long Frames);

/// <summary>
/// A training checkpoint: the epochs done and the best validation loss so far, the network's weights, the optimizer's state and torch's random state, in
/// one file written atomically, with a fingerprint of the options it belongs to. Damaged files are refused by name.
/// </summary>
internal static class Checkpoint
{
    private const string Magic = "MusicGen checkpoint 3";
    private const int HashSize = 32;

    /// <summary>Separates the options' part of a fingerprint from the training data's.</summary>
    public const string DataSeparator = "|data:";

    /// <summary>Where the best epoch's checkpoint is kept: <c>NAME.best.EXT</c> beside <paramref name="checkpoint"/>.</summary>
    public static string BestPath(string checkpoint) =>
        Path.Combine(Path.GetDirectoryName(checkpoint) ?? "", Path.GetFileNameWithoutExtension(checkpoint) + ".best" + Path.GetExtension(checkpoint));

    public static void Save(string path, FrameLstm network, AdamOptimizer optimizer, TrainingPosition position, string fingerprint) =>
        AtomicFile.Write(path, tmp =>
        {
            var content = new MemoryStream();
            var writer = new BinaryWriter(content);
            writer.Write(Magic);
            writer.Write(fingerprint);
            writer.Write(position.Epoch);
            writer.Write(position.BestLoss);
            writer.Write(position.SinceBest);
            writer.Write(position.Segment);
            writer.Write(position.LossSum);
            writer.Write(position.Frames);
            var weights = new MemoryStream();
            network.save(weights); // closes the stream; ToArray still works
            var weightBytes = weights.ToArray();
            writer.Write((long)weightBytes.Length);
            writer.Write(weightBytes);
            optimizer.Save(writer);
            using var state = get_rng_state();
            var rngBytes = state.data<byte>().ToArray();
            writer.Write(rngBytes.Length);
            writer.Write(rngBytes);
            writer.Write(Magic); // a truncated file lacks this
            writer.Flush();
            // A SHA-256 of everything before it: a damaged checkpoint is refused instead of resuming into another model.
            using var file = File.Create(tmp);
            file.Write(content.GetBuffer(), 0, (int)content.Length);
            file.Write(System.Security.Cryptography.SHA256.HashData(content.GetBuffer().AsSpan(0, (int)content.Length)));
        });

    /// <summary>Restores a checkpoint into the network and optimizer; returns where training stood.</summary>
    /// <exception cref="InvalidDataException">The file is damaged or belongs to other options.</exception>
    public static TrainingPosition Load(string path, FrameLstm network, AdamOptimizer optimizer, string fingerprint)
    {
        string name = Path.GetFileName(path);
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length <= HashSize) throw new InvalidDataException($"{name}: not a MusicGen checkpoint (too short)");
            var content = bytes.AsSpan(0, bytes.Length - HashSize);
            if (!System.Security.Cryptography.SHA256.HashData(content).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashSize)))
                throw new InvalidDataException($"{name}: damaged checkpoint (its checksum does not match); resume from another copy or start afresh without --resume");
            using var reader = new BinaryReader(new MemoryStream(bytes, 0, content.Length));
            if (reader.ReadString() != Magic) throw new InvalidDataException($"{name}: not a checkpoint of this version of MusicGen; start afresh without --resume");
            string written = reader.ReadString();
            if (written != fingerprint)
            {
                static string Options(string f) => f.Split(DataSeparator)[0];
                throw new InvalidDataException(Options(written) == Options(fingerprint)
                    ? $"{name}: written for other training files; resume with the same files, or start afresh without --resume"
                    : $"{name}: written for other training options ({Options(written)}), not these ({Options(fingerprint)})");
            }
            var position = new TrainingPosition(reader.ReadInt32(), reader.ReadDouble(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadDouble(), reader.ReadInt64());
            long size = reader.ReadInt64();
            if (size <= 0 || size > reader.BaseStream.Length) throw new InvalidDataException($"{name}: damaged (weights of {size} bytes)");
            using (var weights = new MemoryStream(reader.ReadBytes((int)size)))
            {
                try
                {
                    network.load(weights);
                }
                catch (ArgumentException e)
                {
                    // The checksum held, so the file is whole: its network is another one (an older MusicGen's).
                    throw new InvalidDataException($"{name}: holds a network of another shape ({e.Message}), written by another version of MusicGen; " +
                        "delete it (and its .best.ckpt) to start afresh", e);
                }
            }
            optimizer.Load(reader);
            int stateSize = reader.ReadInt32();
            if (stateSize <= 0 || stateSize > 1 << 20) throw new InvalidDataException($"{name}: damaged (random state of {stateSize} bytes)");
            var rng = reader.ReadBytes(stateSize);
            if (reader.ReadString() != Magic) throw new InvalidDataException($"{name}: damaged (no end marker)");
            using var state = tensor(rng, ScalarType.Byte);
            set_rng_state(state);
            return position;
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or IOException or System.Runtime.InteropServices.ExternalException)
        {
            throw new InvalidDataException($"{name}: damaged or truncated checkpoint ({e.Message})", e);
        }
    }
}
