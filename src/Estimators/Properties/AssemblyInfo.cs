using System.Runtime.CompilerServices;

// SchemaShape.Column's constructor is internal in ML.NET 5.0.1 (build/PublicizeMlCore.targets).
#pragma warning disable CS0436 // MusicGen.Transforms defines the same internal attribute and grants us its internals
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
#pragma warning restore CS0436
