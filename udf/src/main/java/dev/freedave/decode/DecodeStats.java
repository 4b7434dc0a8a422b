package dev.freedave.decode;

import java.util.Arrays;

/**
 * Per-row forward-call statistics (docs/freedave.md, "Statistics per row").
 *
 * @param nfe forward calls this row took part in (one batched call counts 1)
 * @param staticSteps forward calls static decoding needs for the same output
 * @param tokensDecoded positions unmasked by decoding steps (an early exit's EOS fill excluded)
 * @param acceptedHist {@code acceptedHist[i]} = rounds that advanced {@code i} static steps (index 0 unused)
 * @param positionsComputed Σ over calls of the positions computed for this row (a cached forward
 *     computes only its query window)
 * @param draftsVerified Σ over verification forwards of the drafts this row sent (FreeDave; 0 otherwise):
 *     with the rounds ({@code acceptedHist}) it says how many drafts a round sent on average
 * @param decodeMs wall time from the row's admission to its completion
 */
public record DecodeStats(int nfe, int staticSteps, int tokensDecoded, int[] acceptedHist, long positionsComputed,
    int draftsVerified, double decodeMs) {

  /** The statistics of a row that was never decoded. */
  public static final DecodeStats NONE = new DecodeStats(0, 0, 0, new int[0], 0, 0, 0);

  /** Tokens per forward call. */
  public double tpf() {
    return nfe == 0 ? 0 : (double) tokensDecoded / nfe;
  }

  @Override
  public String toString() {
    return "nfe=" + nfe + " static_steps=" + staticSteps + " tokens=" + tokensDecoded + " hist="
        + Arrays.toString(acceptedHist) + " positions=" + positionsComputed;
  }

  /** Accumulates a row's statistics while it decodes. */
  static final class Builder {
    private final long startNanos = System.nanoTime();
    private int nfe;
    private long positions;
    private int verified;
    private int[] hist;
    private long steps;

    Builder(int maxAdvance) {
      hist = new int[maxAdvance + 1];
    }

    void forward(long positionsComputed) {
      nfe++;
      positions += positionsComputed;
    }

    /** A verification forward that sent {@code drafts} drafts of this row. */
    void verified(int drafts) {
      verified += drafts;
    }

    void round(int advanced) {
      steps += advanced;
      if (advanced >= hist.length) {
        hist = Arrays.copyOf(hist, advanced + 1);
      }
      hist[advanced]++;
    }

    /** Static steps advanced so far, in all rounds. */
    long steps() {
      return steps;
    }

    DecodeStats build(int staticSteps, int tokensDecoded) {
      return new DecodeStats(nfe, staticSteps, tokensDecoded, hist.clone(), positions, verified,
          (System.nanoTime() - startNanos) / 1e6);
    }
  }
}
