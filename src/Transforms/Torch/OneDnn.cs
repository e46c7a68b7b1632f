using System.Runtime.InteropServices;

namespace MusicGen.Transforms.Torch;

/// <summary>
/// Switches LibTorch's oneDNN (MKL-DNN) kernels on or off. TorchSharp 0.107 has no switch for it, so this calls
/// LibTorch's own <c>at::globalContext().setUserEnabledMkldnn(bool)</c>, exported from libtorch_cpu.so.
/// oneDNN makes a batch-1 LSTM step several times slower (docs/design.md), so generation turns it off.
/// Where the library or its exports cannot be found, this does nothing and reports that it is unavailable.
/// </summary>
public static unsafe class OneDnn
{
    private static readonly delegate* unmanaged<IntPtr> GlobalContext;
    private static readonly delegate* unmanaged<IntPtr, byte, void> SetEnabled;
    private static readonly delegate* unmanaged<IntPtr, byte> GetEnabled;

    static OneDnn()
    {
        TorchSharp.torch.InitializeDeviceType(TorchSharp.DeviceType.CPU);
        foreach (var name in new[] { Path.Combine(AppContext.BaseDirectory, "libtorch_cpu.so"), "libtorch_cpu.so" })
        {
            if (!NativeLibrary.TryLoad(name, out var library)) continue;
            if (NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out var context)
                && NativeLibrary.TryGetExport(library, "_ZN2at7Context20setUserEnabledMkldnnEb", out var set)
                && NativeLibrary.TryGetExport(library, "_ZNK2at7Context17userEnabledMkldnnEv", out var get))
            {
                GlobalContext = (delegate* unmanaged<IntPtr>)context;
                SetEnabled = (delegate* unmanaged<IntPtr, byte, void>)set;
                GetEnabled = (delegate* unmanaged<IntPtr, byte>)get;
                return;
            }
        }
    }

    /// <summary>True when the switch was found in LibTorch.</summary>
    public static bool Available => GlobalContext != null;

    /// <summary>Whether oneDNN is enabled (true when the switch is unavailable: LibTorch's default).</summary>
    public static bool Enabled
    {
        get => !Available || GetEnabled(GlobalContext()) != 0;
        set
        {
            if (Available) SetEnabled(GlobalContext(), value ? (byte)1 : (byte)0);
        }
    }

    /// <summary>Sets <see cref="Enabled"/> until the returned object is disposed, then restores it.</summary>
    public static IDisposable Scope(bool enabled)
    {
        bool before = Enabled;
        Enabled = enabled;
        return new Restore(before);
    }

    private sealed class Restore(bool before) : IDisposable
    {
        public void Dispose() => Enabled = before;
    }
}
