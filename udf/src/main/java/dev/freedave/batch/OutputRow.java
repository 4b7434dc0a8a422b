package dev.freedave.batch;

/** One (input row, decoder config) result: the Parquet row, field for field (README, "Output schema"). */
public record OutputRow(
    String id,
    String prompt,
    String completion,
    int[] completionTokenIds,
    String finishReason,
    String error,
    String decoder,
    Integer draftSteps,
    int blockLength,
    int genLength,
    Double threshold,
    String cache,
    int nfe,
    int staticSteps,
    double tpf,
    int[] acceptedHist,
    long positionsComputed,
    double decodeMs,
    int promptTokens,
    int genTokens,
    Boolean matchStatic,
    Boolean correct,
    String modelId,
    String configHash) {}
