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
}
