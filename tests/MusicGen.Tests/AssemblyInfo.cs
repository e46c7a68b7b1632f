using System.Runtime.CompilerServices;

// torch's seed, random generator and thread count are process-wide: seeded tests must not run in parallel (docs/design.md).
[assembly: CollectionBehavior(DisableTestParallelization = true)]

#pragma warning disable CS0436 // the libraries define the same internal attribute and grant us their internals
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
#pragma warning restore CS0436
