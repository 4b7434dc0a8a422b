package dev.freedave.decode;

import java.util.ArrayList;
import java.util.List;

/**
 * The one selection rule every decoder uses: masked positions of the current block, in canonical
 * order (confidence descending, ties by position ascending), so drafts and static steps can never
 * disagree through tie-breaking.
 */
final class Selection {
  private Selection() {}

  /** Masked positions of {@code block} in canonical order under {@code p}. */
  static int[] canonical(Canvas s, Prediction p, int block) {
    List<Integer> cands = new ArrayList<>();
    for (int pos = s.blockStart(block); pos < s.blockEnd(block); pos++) {
      if (s.masked(pos)) {
        cands.add(pos);
      }
    }
    cands.sort((a, b) -> {
      int c = Float.compare(p.confidence(b), p.confidence(a));
      return c != 0 ? c : Integer.compare(a, b);
    });
    return cands.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Static step: unmask the first {@code count} candidates with their predicted tokens. */
  static Canvas staticStep(Canvas s, Prediction p, int count) {
    int block = s.currentBlock();
    int[] order = canonical(s, p, block);
    Canvas next = s.copy();
    for (int i = 0; i < Math.min(count, order.length); i++) {
      next.set(order[i], p.token(order[i]));
    }
    return next;
  }

  /** Threshold step: every candidate with confidence ≥ τ, at least the first. */
  static Canvas thresholdStep(Canvas s, Prediction p, double tau) {
    int block = s.currentBlock();
    int[] order = canonical(s, p, block);
    Canvas next = s.copy();
    for (int i = 0; i < order.length; i++) {
      if (i == 0 || p.confidence(order[i]) >= tau) {
        next.set(order[i], p.token(order[i]));
      }
    }
    return next;
  }

  /** Index in the block schedule of the next static step of {@code s}. */
  static int stepIndex(Canvas s, int[] schedule) {
    return stepIndex(s.blockLength - s.maskedInBlock(s.currentBlock()), schedule);
  }

  /** Index in the block schedule of the step after {@code done} positions of a block hold tokens. */
  static int stepIndex(int done, int[] schedule) {
    int i = 0;
    for (int sum = 0; sum < done; i++) {
      sum += schedule[i];
    }
    return i;
  }
}
