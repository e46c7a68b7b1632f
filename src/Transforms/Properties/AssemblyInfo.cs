using System.Runtime.CompilerServices;
using Microsoft.ML;
using MusicGen.Transforms;

// Our transformers use ML.NET's internal persistence API (build/PublicizeMlCore.targets).
#pragma warning disable CS0436 // MusicGen.Estimators defines the same internal attribute and sees ours
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
#pragma warning restore CS0436

// How mlContext.Model.Load finds each saved transformer.
[assembly: LoadableClass(typeof(AudioLoadingTransformer), null, typeof(SignatureLoadModel), "MusicGen audio loading", AudioLoadingTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(FftVectorizingTransformer), null, typeof(SignatureLoadModel), "MusicGen FFT vectorizing", FftVectorizingTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(StatefulBatchingTransformer), null, typeof(SignatureLoadModel), "MusicGen stateful batching", StatefulBatchingTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(FeatureNormalizingTransformer), null, typeof(SignatureLoadModel), "MusicGen feature normalizing", FeatureNormalizingTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(LstmForecastingTransformer), null, typeof(SignatureLoadModel), "MusicGen LSTM forecasting", LstmForecastingTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(TokenizingTransformer), null, typeof(SignatureLoadModel), "MusicGen tokenizing", TokenizingTransformer.LoaderSignature)]
