package dev.freedave.decode;

import java.util.Locale;

/**
 * How many drafts the FreeDave rows of the next forward send. A forward's cost grows with the query
 * positions it computes once it is past the device's ridge (on a GPU, a few hundred positions of an
 * 8B model; far more for a small one), while its gain is the static steps the accepted chains
 * advance. {@link Policy#AUTO} picks the count k (1 .. each row's K) that maximises the expected
 * steps advanced per unit of forward time, from two things measured in the run itself: the forward
 * time at each size (per power of two of positions; an unseen larger size is assumed to cost what
 * the largest seen one does, so it gets tried once) and how often a draft at each depth is accepted
 * given the one before it was. k = 1 costs what a static step does and advances one step, so the
 * choice never expects less than static decoding; as rows finish (the tail of a partition) forwards
 * get cheaper and k grows back. The tokens are the same for every k: FreeDave verifies whatever it
 * sends. {@link Policy#OFF} always sends K.
 */
final class DraftBudget {
  /** Whether the draft count adapts. */
  enum Policy {
    AUTO,
    OFF;

    static Policy parse(String s) {
      return switch (s.trim().toLowerCase(Locale.ROOT)) {
        case "auto" -> AUTO;
        case "off" -> OFF;
        default -> throw new IllegalArgumentException("unknown draft budget '" + s + "' (auto, off)");
      };
    }
  }

  private static final int DEPTHS = 64;
  private static final int BUCKETS = 40;

  private final Policy policy;
  // acceptance: among rounds that sent a draft at depth j and accepted depth j - 1, how many accepted j
  private final long[] offered = new long[DEPTHS];
  private final long[] accepted = new long[DEPTHS];
  // cost: per power of two of positions, the fastest forward seen there (its positions and nanoseconds)
  private final long[] seenAt = new long[BUCKETS];
  private final double[] fastest = new double[BUCKETS];

  DraftBudget(Policy policy) {
    this.policy = policy;
  }

  /** A verification round's outcome: {@code sent} drafts verified, the chain reached draft index {@code reached}. */
  void round(int sent, int reached) {
    for (int j = 1; j < Math.min(sent, DEPTHS); j++) {
      if (reached >= j - 1) {
        offered[j]++;
        accepted[j] += reached >= j ? 1 : 0;
      }
    }
  }

  /** A step's forwards computed {@code positions} query positions in {@code nanos}. */
  void forward(long positions, long nanos) {
    int b = bucket(positions);
    if (fastest[b] == 0 || nanos < fastest[b]) {
      fastest[b] = nanos;
      seenAt[b] = positions;
    }
  }

  /**
   * The draft count for the next forward.
   *
   * @param maxDrafts the most any drafting row may send (its K)
   * @param draftRows rows that will send drafts
   * @param perDraft query positions one draft of such a row computes (summed over those rows)
   * @param fixedPositions positions of the forward's other sequences, whatever k is
   * @param fixedSteps static steps those other sequences advance
   */
  int drafts(int maxDrafts, int draftRows, long perDraft, long fixedPositions, int fixedSteps) {
    if (policy == Policy.OFF || draftRows == 0 || maxDrafts <= 1) {
      return maxDrafts;
    }
    int best = 1;
    double bestRate = -1;
    double advance = 0; // expected steps one row's chain advances with k drafts
    double reach = 1;
    for (int k = 1; k <= maxDrafts; k++) {
      if (k > 1) {
        int j = Math.min(k - 1, DEPTHS - 1);
        reach *= (accepted[j] + 1.0) / (offered[j] + 1.0); // one optimistic pseudo-observation per depth
      }
      advance += reach;
      double rate = (draftRows * advance + fixedSteps) / cost(fixedPositions + k * perDraft);
      if (rate > bestRate * (1 + 1e-9)) { // ties go to fewer drafts
        bestRate = rate;
        best = k;
      }
    }
    return best;
  }

  /**
   * Forward time at {@code positions}: linear between the measured sizes around it, flat before the
   * first and past the last (so a larger size looks free until it has been tried once).
   */
  private double cost(long positions) {
    long lowP = -1;
    double low = 0;
    for (int b = 0; b < BUCKETS; b++) {
      if (fastest[b] == 0) {
        continue;
      }
      if (seenAt[b] >= positions) {
        if (lowP < 0) {
          return fastest[b];
        }
        double f = (double) (positions - lowP) / (seenAt[b] - lowP);
        return low + f * (fastest[b] - low);
      }
      lowP = seenAt[b];
      low = fastest[b];
    }
    return lowP < 0 ? 1 : low; // nothing measured yet: every size costs the same
  }

  private static int bucket(long positions) {
    return Math.min(BUCKETS - 1, 63 - Long.numberOfLeadingZeros(Math.max(1, positions)));
  }
}
