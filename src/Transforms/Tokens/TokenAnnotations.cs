using Microsoft.ML;
using Microsoft.ML.Data;

namespace MusicGen.Transforms.Tokens;

/// <summary>
/// What the later stages need to know about a token column, carried in the schema as annotations of that column
/// (the tokenizer writes them; stateful batching copies them to its token and target columns): how many tokens
/// there are, how often each occurred in the training music and how often a token repeated (the two baselines a
/// next-token model must beat, and its backoff), and each token's descriptor (its codebook centroid).
/// </summary>
public sealed record TokenAnnotations(int TokenCount, IReadOnlyList<long> Frequencies, double RepeatRate, float[] Descriptors)
{
    /// <summary>Annotation: the number of tokens (Int32).</summary>
    public const string TokenCountKind = "TokenCount";
    /// <summary>Annotation: each token's count in the training music (vector of Int64).</summary>
    public const string FrequenciesKind = "TokenFrequencies";
    /// <summary>Annotation: the share of training steps that repeat the previous token (Double).</summary>
    public const string RepeatRateKind = "TokenRepeatRate";
    /// <summary>Annotation: each token's descriptor, [TokenCount, size] row-major (vector of Single).</summary>
    public const string DescriptorsKind = "TokenDescriptors";

    /// <summary>The annotations of a codebook's token column.</summary>
    public static TokenAnnotations Of(Codebook codebook) =>
        new(codebook.TokenCount, codebook.Frequencies, codebook.RepeatRate, codebook.Descriptors());

    /// <summary>The annotations as ML.NET schema annotations.</summary>
    public DataViewSchema.Annotations ToAnnotations()
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(TokenCountKind, NumberDataViewType.Int32, (ref int v) => v = TokenCount);
        builder.Add(FrequenciesKind, new VectorDataViewType(NumberDataViewType.Int64, TokenCount),
            (ref VBuffer<long> v) => v = new VBuffer<long>(TokenCount, Frequencies.ToArray()));
        builder.Add(RepeatRateKind, NumberDataViewType.Double, (ref double v) => v = RepeatRate);
        builder.Add(DescriptorsKind, new VectorDataViewType(NumberDataViewType.Single, Descriptors.Length),
            (ref VBuffer<float> v) => v = new VBuffer<float>(Descriptors.Length, (float[])Descriptors.Clone()));
        return builder.ToAnnotations();
    }

    /// <summary>The token annotations of <paramref name="column"/>, or null when it is not a token column.</summary>
    public static TokenAnnotations? Read(DataViewSchema.Column column)
    {
        var a = column.Annotations;
        if (a.Schema.GetColumnOrNull(TokenCountKind) is null) return null;
        int count = 0;
        a.GetValue(TokenCountKind, ref count);
        var frequencies = new long[count];
        if (a.Schema.GetColumnOrNull(FrequenciesKind) is not null)
        {
            VBuffer<long> f = default;
            a.GetValue(FrequenciesKind, ref f);
            if (f.Length == count) f.CopyTo(frequencies);
        }
        double repeat = 0;
        if (a.Schema.GetColumnOrNull(RepeatRateKind) is not null) a.GetValue(RepeatRateKind, ref repeat);
        float[] descriptors = [];
        if (a.Schema.GetColumnOrNull(DescriptorsKind) is not null)
        {
            VBuffer<float> d = default;
            a.GetValue(DescriptorsKind, ref d);
            descriptors = new float[d.Length];
            d.CopyTo(descriptors);
        }
        return new TokenAnnotations(count, frequencies, repeat, descriptors);
    }
}
