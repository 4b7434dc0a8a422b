package dev.freedave.decode;

import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheMode;

/**
 * One sequence of a batched forward: a row's state (or one of its drafts) and the block whose
 * prediction it needs.
 *
 * @param length the tokens a full forward feeds: all of them, or for a block-causal model those up
 *     to the end of the block (nothing after it is visible to it)
 * @param windowStart gen-relative first position of the block to predict
 * @param cache the row's frozen K/V to attend to (a cached forward), or null (a full forward)
 * @param mode the row's cache policy; a full forward under a policy also freezes the row's cache
 * @param queryStart absolute first position a cached forward recomputes; for a full forward under a
 *     policy, the start of the window its frozen cache leaves out
 * @param queryEnd end (exclusive) of those positions
 * @param block the block length of block-causal attention; 0 = bidirectional
 * @param commitTo a block-causal cached forward appends the fresh keys and values of
 *     [queryStart, commitTo) to the row's cache (a finished block); {@code queryStart} = nothing to append
 */
record Sequence(int[] tokens, int length, int promptLength, int windowStart, int windowLength, long seed,
    int decodedCount, double temperature, BlockCache cache, CacheMode mode, int queryStart, int queryEnd, int block,
    int commitTo) {
  /** The query positions a forward computes for it: a cached forward its window, a full one every token it feeds. */
  long positions() {
    return cache != null ? queryEnd - queryStart : length;
  }

  /**
   * The absolute position whose logits predict window position {@code j}: Dream ({@code offset} 1)
   * predicts p from the logits at p - 1; past the window's end it repeats the last one (padding).
   */
  int logitsPosition(int j, int offset) {
    return promptLength + windowStart + Math.min(j, windowLength - 1) - offset;
  }
}
