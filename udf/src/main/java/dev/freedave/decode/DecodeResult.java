package dev.freedave.decode;

/**
 * A decoded row.
 *
 * @param tokens the generated positions (length gen_length; EOS-filled after an early exit); empty on error
 * @param error null when fine
 * @param stats null on error
 */
public record DecodeResult(String id, DecodeConfig config, int promptTokens, int[] tokens, FinishReason finishReason,
    String error, DecodeStats stats) {

  /** Why a row stopped. */
  public enum FinishReason {
    EOS("eos"),
    LENGTH("length"),
    ERROR("error");

    public final String label;

    FinishReason(String label) {
      this.label = label;
    }
  }

  static DecodeResult failed(DecodeRequest r, String error) {
    return new DecodeResult(r.id(), r.config(), r.prompt() == null ? 0 : r.prompt().length, new int[0],
        FinishReason.ERROR, error, null);
  }
}
