// Lets an assembly compiled against the publicized Microsoft.ML.Core (build/PublicizeMlCore.targets)
// call its internal members at run time.
namespace System.Runtime.CompilerServices;

/// <summary>Tells the runtime to skip access checks from this assembly into the named one.</summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute : Attribute
{
    /// <summary>Creates the attribute for the named assembly.</summary>
    public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

    /// <summary>The simple name of the assembly whose internals are accessed.</summary>
    public string AssemblyName { get; }
}
