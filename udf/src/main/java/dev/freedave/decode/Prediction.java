package dev.freedave.decode;

/**
 * {@code predict(f(s))} over one block of a sequence: for each position of the window, the token
 * the model puts there ({@code x0}) and its confidence (max softmax probability, float32).
 *
 * @param windowStart gen-relative position of {@code x0[0]}
 */
public record Prediction(int windowStart, int[] x0, float[] conf) {
  public int token(int genPos) {
    return x0[genPos - windowStart];
  }

  public float confidence(int genPos) {
    return conf[genPos - windowStart];
  }

  /**
   * Whether the logits behind this prediction were finite: a NaN or an infinity anywhere in a
   * position's logits makes its softmax NaN, so one pass over the confidences (already on the host)
   * sees it without another device read.
   */
  public boolean finite() {
    for (float c : conf) {
      if (Float.isNaN(c)) {
        return false;
      }
    }
    return true;
  }
}
