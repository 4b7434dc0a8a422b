package dev.freedave.generate;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeResult;
import dev.freedave.decode.DecodeStats;

/**
 * One (input row, decoder config) result. Its columns, their names, types and order are defined
 * once, in {@link OutputColumn}.
 *
 * @param inputHash {@link InputRow#inputHash()} of the row decoded
 * @param run what is the same for every row of a decoder config
 * @param decoded what this row's decoding gave
 */
public record OutputRow(String id, String prompt, String inputHash, Run run, Decoded decoded) {

  /**
   * The decoder config's columns.
   *
   * @param draftSteps K; null for decoders without drafts
   * @param threshold τ; null for decoders without a threshold
   */
  public record Run(String decoder, Integer draftSteps, int blockLength, int genLength, Double threshold,
      String cache, String modelId, String configHash) {

    public static Run of(DecodeConfig c, String modelId, String configHash) {
      return new Run(c.method().label, c.method().drafts() ? c.draftSteps() : null, c.blockLength(), c.genLength(),
          c.method().thresholdBased() ? c.threshold() : null, c.cache().label(), modelId, configHash);
    }
  }

  /**
   * A row's decoding.
   *
   * @param completion text up to the first end token; null on error
   * @param tokens every generated position; empty on error
   * @param error null when fine
   * @param stats forward-call statistics; zeros on error
   * @param genTokens completion length up to the first end token
   * @param matchStatic with the static audit: tokens identical to static decoding; else null
   * @param correct with a reference answer: whether the completion answers it; else null
   */
  public record Decoded(String completion, int[] tokens, String finishReason, String error, DecodeStats stats,
      int promptTokens, int genTokens, Boolean matchStatic, Boolean correct) {

    public static Decoded failed(String error, int promptTokens) {
      return new Decoded(null, new int[0], DecodeResult.FinishReason.ERROR.label, error, DecodeStats.NONE,
          promptTokens, 0, null, null);
    }
  }
}
