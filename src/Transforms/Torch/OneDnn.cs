using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

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

    private static readonly ConcurrentDictionary<(int Inputs, int Hidden), bool> Checked = new();

    /// <summary>
    /// Whether oneDNN's LSTM kernel gives LibTorch's own result for a one-layer LSTM of this shape on this CPU (true
    /// when the switch is unavailable: there is nothing to choose). On one CPU seen here (AMD EPYC with AVX-512 BF16) it
    /// did not for some hidden sizes: 8, 16, 33, 40 and 48 units were off by 0.2-0.5 after 50 steps, where 24, 31, 32,
    /// 64, 96 and 128 agreed to 1e-6. Training checks its shapes once per process and runs without oneDNN where they
    /// disagree: slower, never wrong. The check runs one 32-step pass each way and leaves the random stream as it was.
    /// </summary>
    public static bool LstmAgrees(int inputs, int hidden) => !Available || Checked.GetOrAdd((inputs, hidden), shape =>
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var state = random.get_rng_state();
        try
        {
            manual_seed(1);
            using var lstm = nn.LSTM(shape.Inputs, shape.Hidden);
            var x = randn(32, 2, shape.Inputs);
            Tensor With(bool enabled)
            {
                using var _ = Scope(enabled);
                return lstm.call(x).Item1;
            }
            double difference = With(true).sub(With(false)).abs().max().item<float>();
            return difference < 1e-4;
        }
        finally
        {
            random.set_rng_state(state);
        }
    });

    private sealed class Restore(bool before) : IDisposable
    {
        public void Dispose() => Enabled = before;
    }
}
